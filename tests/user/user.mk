# The user-mode test programs; filled in with the runtime.
USER_PROGRAMS :=
