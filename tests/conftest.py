"""Test-session settings.

The default backend ("auto", glpp.likelihood.backend) compiles a model structure whose C
modules are not cached with JAX and queues the C compile for a background worker. The tests
leave that worker off: a test run starts no processes that outlive it, and on a machine with
an empty cache (CI) the structures run on JAX, which compiles in seconds. Set
GLPP_BACKGROUND_COMPILE=on to test with it.
"""

import os

os.environ.setdefault("GLPP_BACKGROUND_COMPILE", "off")
