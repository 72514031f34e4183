"""A terminal client for Companion: ``companion chat <character>`` (see ``__main__``)."""
