"""`dinsos-admin`: the one command line for running an office's system.

Each group of commands is a module of this package with a `register(commands)` function;
`__main__.COMMAND_GROUPS` lists them, so a group is part of the tool because it is named
there, not because something happened to import it.
"""
