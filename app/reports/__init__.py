"""Reports: availability accounting (``availability``), calendars (``calendar``), the API."""
