"""Server-rendered pages for plans. Every page asks ipplan.plans.permissions for the
user's access, writes one access-log entry per read and saves through services."""
