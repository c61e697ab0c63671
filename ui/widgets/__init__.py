"""Small widgets that panels, dialogs and views share: the palette, cards and chips,
record tables, small charts. A leaf: it imports nothing else from ``ui``."""
