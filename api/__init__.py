"""Where inspection and telemetry meet: the FastAPI application and the processes around it.

Read from the top: ``app`` builds the application; ``processes/`` is the ``shelterwatch``
command and the wiring of each process; ``http/`` is every route, view and probe; ``web/``
the pages; ``alerting/`` what follows an alert's transitions; ``notify/`` the delivery of
notifications; ``settings``, ``db``, ``state`` and ``logs`` are shared by all of them.
"""
