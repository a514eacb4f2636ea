"""Request and response bodies of the HTTP API, as pydantic models (they make the OpenAPI schema),
one module per concern, as the routes are:

    common      what every route shares: a request body's rules, an error, the health answer
    predict     /predict and /predict/batch: drawings in, digits and probabilities out
    explain     /explain: an answer and why the network gave it
    number      /predict/number: a number of several digits
    training    the admin's /train, its runs and promotions
    feedback    a person's "No, it's a ..." and its review

A name a user can choose (a preset, an activation, a status) is a ``Literal`` built from the registry
that defines it: a name added there is accepted here and listed in the OpenAPI schema. A type
checker cannot read a Literal built at run time: to it such names are strings.
"""
