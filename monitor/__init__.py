"""The live terminal monitor of a rotation gateway (Textual).

``monitor.app.RotationMonitor(url)`` is the app (``rotation monitor`` and ``rotation
up`` run it). Inside: ``state`` folds the gateway's messages into what the screen
shows (with ``headline``, the regime pairs' top line, and ``quotes``, the quote
panel's rows), ``render`` turns figures into text (sparklines, the A/D bar, the RRG),
``widgets`` holds one class per panel and ``screens`` the evidence and help pop-ups;
only ``app`` does I/O. May import the gateway's client and messages and
:mod:`streams`' records; never the server, the agents or the composition root.
"""
