"""The local stack: a linearizable AWS emulator, bootstrap, and the process supervisor."""
