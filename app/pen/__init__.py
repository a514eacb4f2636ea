"""Pen trajectories: UNIPEN files (pendigits), strokes drawn as the page draws them (strokes), and pen
strokes made into 28x28 digits, as extra training data too (digits)."""
