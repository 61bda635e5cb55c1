package dev.strata.pageserver.timeline;

/**
 * A walsender a timeline streams WAL from: a safekeeper's (or, in tests, a stock PostgreSQL's),
 * with the replication credentials it accepts. The password is never printed.
 */
public record WalSource(String host, int port, String user, String password) {

    public WalSource {
        if (host == null || host.isBlank() || host.length() > 253 || host.chars().anyMatch(c -> c <= ' ' || c == ',')) {
            throw new IllegalArgumentException("WAL source host '" + host + "' is not a host name or address");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("WAL source port " + port + " is out of range 1..65535");
        }
        if (user == null || user.isBlank() || user.length() > 63 || user.chars().anyMatch(c -> c < ' ')) {
            throw new IllegalArgumentException("WAL source user '" + user + "' is not a PostgreSQL role name");
        }
        if (password == null || password.length() > 1024 || password.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("WAL source password must be given, one line, at most 1024 characters");
        }
    }

    public String address() {
        return host + ":" + port;
    }

    @Override
    public String toString() {
        return user + "@" + host + ":" + port;
    }
}
