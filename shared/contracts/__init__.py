"""Event contracts: every message that crosses a service boundary, defined once.

- `envelope`: the envelope every event carries (`EventBase`), the value types the
  services share, and how an event evolves (its docstring);
- `intake`, `logistics`, `distribution`, `notify`: the events each service produces,
  one module per producer (one grown too long may be split as `<service>_<subject>`;
  a test holds every event to a module named after its producer);
- `union`: `AnyEvent`, the discriminated union of every event, and the wire form
  (`parse_event`, `serialize_event`, `EventRejected`, `event_types`, `event_class`).

Import a name from the module that defines it. This package's own import runs nothing:
which events exist is written in `union.AnyEvent`, not collected from imports.
"""
