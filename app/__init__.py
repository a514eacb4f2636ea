"""digitnet's web service and command line, around the network in ``model/`` (which never imports this).

    main.py, settings.py, deps.py   the app factory, every DIGITNET_* setting, the typed dependencies
    web/       the HTTP doors: routers, schemas, reading a request's drawings, errors' statuses, the admin
               token, headers, limits, metrics
    reading/   drawings to answers: images, the predictor and which version serves, numbers, explain
    runs/      training runs: what a run is, its own process, starting and cancelling it
    state/     the stored state: databases, runs and events, model versions
    feedback/  drawings people send back, kept and reviewed
    reports/   what a version gets wrong, on the sets it is judged on
    pen/       pen trajectories, drawn as the page draws them
    cli/       the ``digitnet`` command

The path of a drawing: ``POST /predict`` (web/routes/predict.py) passes the head's deadline
(web/protocol.py) and the body and in-flight limits (web/limits.py); the route takes the serving
``Predictor`` once (reading/serving.py), reads the drawing (web/drawings.py, reading/images.py) on
the event loop or in a worker thread (reading/work.py), and ``model.images.preprocess.to_mnist``
makes the 784 inputs the network reads. The answer is the digit, ten probabilities, the version
and the 28x28 input.
"""
