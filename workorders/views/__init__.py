"""The work orders' pages: the staff queue, search and an order's page (``staff``), intake (the public
form and the phone intake, ``intake``), the escalations list (``escalations``) and the customer's
survey (``survey``)."""
