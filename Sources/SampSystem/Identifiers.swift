// Each identifier writes out == and hash(into:): the defaults for RawRepresentable
// types are generic and went through the runtime on every dictionary lookup.

/// A process in the target's PID namespace as the profiler sees it.
public struct ProcessID: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
  public var rawValue: Int32
  public init(rawValue: Int32) { self.rawValue = rawValue }
  public init(_ value: Int32) { self.rawValue = value }
  public var description: String { String(rawValue) }
  @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
  @inlinable public static func == (a: Self, b: Self) -> Bool { a.rawValue == b.rawValue }
  @inlinable public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
}

/// A kernel thread ID (what gettid() returns in the target).
public struct ThreadID: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
  public var rawValue: Int32
  public init(rawValue: Int32) { self.rawValue = rawValue }
  public init(_ value: Int32) { self.rawValue = value }
  public var description: String { String(rawValue) }
  @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
  @inlinable public static func == (a: Self, b: Self) -> Bool { a.rawValue == b.rawValue }
  @inlinable public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
}

/// An address in the target's memory. Never dereferenced locally.
public struct RemoteAddress: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
  public var rawValue: UInt64
  @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
  @inlinable public init(_ value: UInt64) { self.rawValue = value }
  @inlinable public static var null: RemoteAddress { RemoteAddress(0) }
  @inlinable public var isNull: Bool { rawValue == 0 }
  public var description: String { "0x" + String(rawValue, radix: 16) }
  @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
  @inlinable public static func == (a: Self, b: Self) -> Bool { a.rawValue == b.rawValue }
  @inlinable public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
  @inlinable public static func + (a: Self, offset: Int) -> Self {
    RemoteAddress(offset >= 0 ? a.rawValue &+ UInt64(offset) : a.rawValue &- UInt64(-offset))
  }
  @inlinable public static func - (a: Self, b: Self) -> Int64 { Int64(bitPattern: a.rawValue &- b.rawValue) }
}
