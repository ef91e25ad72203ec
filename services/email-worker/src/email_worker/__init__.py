"""The email worker: consumes the email queues and delivers mail over SMTP."""
