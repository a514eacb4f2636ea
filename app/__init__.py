"""digitnet's web service and command line, around the network in ``model/`` (which never imports this).

A map, in the order a newcomer might read it:

    settings.py      every DIGITNET_* setting, read once at start; where the project's files are
    main.py          create_app: routers, middlewares, and the start-up that makes the Services
    deps.py          Services and the typed dependencies routes receive (store, holder, settings)
    routes/          one router per concern: predict, number, explain, feedback, admin (runs,
                     versions, metrics), health, pages;
                     drawings.py reads drawings from any request and runs the work (loop or thread)
    schemas/         request and response bodies (pydantic), which make the OpenAPI schema, a
                     module per concern as the routes are (common, predict, explain, ...)

    images.py        image bytes -> ink: decode PNG/JPEG safely; InputError, the one input error;
                     image_files.py what a file's structure costs to read, counted before Pillow
    predictor.py     a loaded model: images or pixels -> Predictions (geometry: model.images.preprocess)
    versions.py      which model version serves, checked before it does, following promotions
    reports.py       what a version gets wrong (model/evaluate.py) on the sets of eval_sets.py, stored;
                     report_views.py one version's report, or two compared, as the API shows them
    explain.py       why the network read what it read: saliency (backprop to the input), units

    numbers.py       a row of digits in one image: segmentation (model/images/segment.py), then each digit
    feedback.py      drawings people send back with their label: kept, reviewed, held out, trained on
                     feedback_intake.py one post's checks (rate, size, strokes against picture)

    store.py         the shared state: runs, events (SQLite, or PostgreSQL for many hosts);
                     version_store.py the model versions in it and this host's copies of their files
    db.py            the two databases behind the store; migrations.py its numbered schema
    training.py      a run's config from a preset, MNIST's place, the saved model's metadata
    training_job.py  a run's own process: the run itself, its heartbeat, its outcome;
                     run_control.py starts, cancels and reaps it, and ends silent runs
    auth.py          the admin token;  metrics.py  Prometheus;  security.py  CSP and other headers
    limits.py        body size, body deadline, in-flight slots;  protocol.py  the head's deadline (httptools)
    work.py          worker threads with slots of their own (/predict's, the costly routes'), and deadlines

    cli.py           the digitnet command's arguments; commands.py does each command; progress.py its bar
    pendigits.py     real pen trajectories (UNIPEN files);  strokes.py  draws strokes as the page does
    pen_training.py  pen-drawn digits as extra training data

The path of a drawing: the page posts a PNG to ``POST /predict`` (routes/predict.py). Its head
must arrive in time (protocol.py); the metrics middleware times it, the body limit counts its body
and the in-flight limit gives it a slot once the body is whole (limits.py); the route takes the
serving ``Predictor`` once (deps.py, versions.py), reads the drawing and the image's header
(routes/drawings.py, images.py) to decide whether to answer on the event loop or in a worker
thread, and the predictor
decodes it to ink, ``model.images.preprocess.to_mnist`` makes the 784 inputs, and the network reads them.
The answer is the digit, ten probabilities, the version that answered and the 28x28 input.
"""
