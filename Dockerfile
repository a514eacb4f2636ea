# digitnet: the drawing page and the /predict API on the shipped model.
#   docker build -t digitnet .
#   docker run --rm -p 8000:8000 -v digitnet-state:/var/lib/digitnet digitnet   then open http://localhost:8000
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 digitnet
WORKDIR /srv/digitnet

# dependencies first, so that code changes do not reinstall them: exactly what the lock pins, each
# file checked against its hash, with psycopg, so that the same image serves one host (SQLite) or
# many (DIGITNET_DATABASE_URL)
COPY requirements/serve.lock ./requirements/
RUN pip install --require-hashes -r requirements/serve.lock
COPY pyproject.toml README.md ./
COPY app ./app
COPY model ./model
RUN pip install --no-deps --no-build-isolation .

COPY static ./static
COPY templates ./templates
COPY weights ./weights

# the installed package looks for static/, templates/ and weights/ here; the state (runs, versions,
# the promoted version, the admin token) lives in a volume, so it outlives the container: run with
# -v digitnet-state:/var/lib/digitnet (see the README) to keep it across upgrades
ENV DIGITNET_ROOT=/srv/digitnet \
    DIGITNET_WEIGHTS=/srv/digitnet/weights/digitnet.npz \
    DIGITNET_EXTRA_MODELS=dense=/srv/digitnet/weights/dense.npz \
    DIGITNET_HOME=/var/lib/digitnet
RUN mkdir -p /var/lib/digitnet && chown digitnet:digitnet /var/lib/digitnet
VOLUME ["/var/lib/digitnet"]

USER digitnet
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz')"
CMD ["digitnet", "serve", "--host", "0.0.0.0", "--port", "8000"]
