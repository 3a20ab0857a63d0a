"""The Processing provider: every analysis exists once, here, and the GUI runs it."""
