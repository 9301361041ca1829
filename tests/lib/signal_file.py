"""The Python readers the integration tests start in the background wait for
the test's next step by a file it creates: `wait(work, "go")`."""
import os
import sys
import time


def wait(work, name, limit=60):
    """Return once work/name exists; end the reader with a message after limit seconds."""
    end = time.monotonic() + limit
    while not os.path.exists(os.path.join(work, name)):
        if time.monotonic() > end:
            sys.exit("never got " + name)
        time.sleep(0.05)
