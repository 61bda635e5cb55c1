package dev.strata.proxy.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the real {@code /usr/bin/psql} (Debian's v15; it is on every CI machine) with a bounded wait. */
public final class Psql {

    public static final Path PSQL = Path.of("/usr/bin/psql");

    /** Exit status and both output streams. */
    public record Result(int exit, String stdout, String stderr) {
    }

    private Psql() {
    }

    /** {@code psql -XAt -c sql} on a libpq connection string, with PGPASSWORD. */
    public static Result run(String conninfo, String password, String sql) throws IOException, InterruptedException {
        if (!Files.isExecutable(PSQL)) {
            throw new AssertionError(PSQL + " is missing; the proxy tests need Debian's postgresql-client");
        }
        ProcessBuilder pb = new ProcessBuilder(List.of(PSQL.toString(), "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql, conninfo));
        pb.environment().put("PGPASSWORD", password);
        pb.environment().put("PGCONNECT_TIMEOUT", "20");
        pb.environment().remove("PGSSLMODE");
        Path out = Files.createTempFile("psql", ".out");
        Path err = Files.createTempFile("psql", ".err");
        try {
            Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(40, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                throw new AssertionError("psql did not finish within 40 s: " + Files.readString(err));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8).strip(),
                    Files.readString(err, StandardCharsets.UTF_8).strip());
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
