"""The work orders' REST API: ``views`` (the viewset and its schema), ``input`` (the bodies it
takes), ``output`` (what it answers), ``children`` (the lists under an order: events, attachments,
surveys)."""
