"""TeamDash's Qt front end: thin widgets over the ``teamdash`` services."""
