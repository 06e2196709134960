"""python manage.py audit_db_role ROLE: the PostgreSQL role web, workers and beat connect as.

Run it as the database's owner (the role that runs `migrate` and owns every table), after
every `migrate`; it is idempotent. The role it creates or updates may read and write the
portal's tables as usual, but of the audit trail it may only read and append: no UPDATE,
DELETE or TRUNCATE of records or checkpoints, and, since it owns nothing, no ALTER TABLE (so
no DISABLE TRIGGER) and no DROP TRIGGER; it is no superuser, so it cannot set
session_replication_role either. `--print` shows the SQL instead of running it.
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from audit.models import AccessEvent, AuditHead, Checkpoint

TABLE_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"


def statements(role: str, database: str, owner: str) -> list[str]:
    """The SQL, with identifiers quoted; the password is set separately (never printed)."""
    q = connection.ops.quote_name
    r, events, head, checkpoints = (q(role), q(AccessEvent._meta.db_table),
                                    q(AuditHead._meta.db_table), q(Checkpoint._meta.db_table))
    literal = role.replace("'", "''")
    return [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{literal}') THEN "
        f"CREATE ROLE {r} LOGIN; END IF; END $$",
        f"ALTER ROLE {r} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
        f"GRANT CONNECT ON DATABASE {q(database)} TO {r}",
        f"GRANT USAGE ON SCHEMA public TO {r}",
        # the other tables: the usual rights (no TRUNCATE, REFERENCES or TRIGGER)
        f"GRANT {TABLE_RIGHTS} ON ALL TABLES IN SCHEMA public TO {r}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {q(owner)} IN SCHEMA public "
        f"GRANT {TABLE_RIGHTS} ON TABLES TO {r}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {q(owner)} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {r}",
        # the audit trail: read and append only
        f"REVOKE ALL ON {events}, {head}, {checkpoints} FROM {r}",
        f"GRANT SELECT, INSERT ON {events} TO {r}",
        f"GRANT SELECT, INSERT, UPDATE ON {head} TO {r}",  # the chain's head moves on
        f"GRANT SELECT, INSERT ON {checkpoints} TO {r}",
        f"GRANT UPDATE (mailed_at) ON {checkpoints} TO {r}",
        # migrations are the owner's
        f"REVOKE INSERT, UPDATE, DELETE ON {q('django_migrations')} FROM {r}",
    ]


class Command(BaseCommand):
    help = ("Create or update the PostgreSQL role the portal's processes connect as: normal "
            "rights on its tables, read and append only on the audit trail. Run as the owner.")

    def add_arguments(self, parser):
        parser.add_argument("role", help="e.g. portal_app")
        parser.add_argument("--password-env", metavar="VAR",
                            help="set the role's password from this environment variable")
        parser.add_argument("--owner", help="the role that runs migrations (default: you)")
        parser.add_argument("--print", action="store_true", dest="print_only",
                            help="print the SQL instead of running it")

    def handle(self, *args, role, password_env=None, owner=None, print_only=False, **options):
        if connection.vendor != "postgresql":
            raise CommandError("database roles need PostgreSQL")
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_database()")
            me, database = cursor.fetchone()
        owner = owner or me
        if role in (owner, me):
            raise CommandError("the portal's role must not be the owner that runs migrations")
        sql = statements(role, database, owner)
        if print_only:
            self.stdout.write(";\n".join(sql) + ";")
            if password_env:
                self.stdout.write(f"ALTER ROLE {connection.ops.quote_name(role)} PASSWORD '…';")
            return
        password = None
        if password_env:
            password = os.environ.get(password_env)
            if not password:
                raise CommandError(f"{password_env} is not set")
        with connection.cursor() as cursor:
            for statement in sql:
                cursor.execute(statement)
            if password is not None:
                from psycopg import sql as psql

                raw = connection.connection
                cursor.execute(psql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    psql.Identifier(role), psql.Literal(password)).as_string(raw))
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                           "AND tableowner = %s", [role])
            owned = [row[0] for row in cursor.fetchall()]
        if owned:
            raise CommandError(f"{role} owns tables and could alter them (disable the audit "
                               f"triggers): {', '.join(owned)}; make {owner} their owner")
        self.stdout.write(f"{role}: normal rights on the portal's tables; the audit trail "
                          "read and append only")
