import Testing
@testable import SampCore

@Suite struct FrameLabelerTests {
  @Test func sanitizesSeparators() {
    #expect(FrameLabeler.sanitize("a;b\nc") == "a:b c")
  }

  @Test(arguments: [
    ("/usr/lib/python3.12/site-packages/requests/api.py", "requests/api.py"),
    ("/root/.pyenv/versions/3.12.1/lib/python3.12/threading.py", "threading.py"),
    ("/root/.pyenv/versions/3.12.1/lib/python3.12/asyncio/events.py", "asyncio/events.py"),
    ("/srv/app/worker.py", "worker.py"),
    ("<string>", "<string>"),
  ])
  func shortensPythonPaths(path: String, short: String) {
    #expect(FrameLabeler.shortPythonPath(path) == short)
  }
}
