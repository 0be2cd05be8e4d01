# Source this to get a throwaway PostgreSQL server for the class set's tests (Debian's `postgresql`):
# a cluster in a temp folder, reached only through a unix socket there, stopped and removed on exit.
# Exports MNIST_CNN_TEST_POSTGRES_URL. Runs the server as the `postgres` user (it refuses root).
# Does nothing when MNIST_CNN_TEST_POSTGRES_URL is already set.
if [ -z "${MNIST_CNN_TEST_POSTGRES_URL:-}" ]; then
    pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -z "$pg_bin" ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    fi
    pg_dir="$(mktemp -d /tmp/mnist-cnn-postgres.XXXXXX)"
    chown postgres: "$pg_dir"
    runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust --no-sync >/dev/null
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
        -o "-c listen_addresses='' -k $pg_dir -c fsync=off -c max_connections=100" start >/dev/null
    trap 'runuser -u postgres -- "'"$pg_bin"'/pg_ctl" -D "'"$pg_dir"'/data" -m fast -w stop >/dev/null 2>&1; rm -rf "'"$pg_dir"'"' EXIT
    export MNIST_CNN_TEST_POSTGRES_URL="postgresql+psycopg://postgres@/postgres?host=$pg_dir"
fi
