# Coroutines under asyncio: main awaits middle awaits leaf, which spins and
# yields to the event loop now and then. Python 3.6+ (no asyncio.run there).
import asyncio
import sys


async def leaf():
    total = 0
    while True:
        for i in range(20000):
            total += i  # @LEAF
        await asyncio.sleep(0)


async def middle():
    await leaf()  # @MIDDLE


async def main():
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await middle()  # @MAIN


loop = asyncio.new_event_loop()
loop.run_until_complete(main())
