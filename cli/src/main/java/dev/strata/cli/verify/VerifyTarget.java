package dev.strata.cli.verify;

import dev.strata.cli.local.LocalPageserver.WalSource;
import dev.strata.pgcore.id.TimelineId;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Properties;

/**
 * What {@code strata verify} needs of one branch of a running cluster: the compute to copy a
 * stock standby from (its data directory and a superuser connection on loopback), the
 * safekeepers the standby streams the branch's WAL from, and the pageserver's page service with
 * a compute token for the branch's timeline (the compute's own read path). The running cluster
 * hands it out on its admin port ({@code GET /branches/NAME/verify-target}, operator token) as
 * a properties text: it holds passwords and a token, so it only ever travels on loopback to
 * the operator.
 */
public record VerifyTarget(String branch, TimelineId timeline, Path computeDataDir, String computeHost,
                           int computePort, String user, String password, List<WalSource> walSources,
                           String pageserverHost, int pageServicePort, String pageserverToken) {

    public VerifyTarget {
        Objects.requireNonNull(branch, "branch is null");
        Objects.requireNonNull(timeline, "timeline is null");
        Objects.requireNonNull(computeDataDir, "computeDataDir is null");
        walSources = List.copyOf(walSources);
        if (walSources.isEmpty()) {
            throw new IllegalArgumentException("branch '" + branch + "': no safekeeper to stream from");
        }
    }

    /** A libpq URI for {@code database} on the branch's compute (superuser, loopback). */
    public String computeUri(String database) {
        return "postgresql://" + computeHost + ":" + computePort + "/" + database;
    }

    /** The properties text the admin port sends. */
    public String toProperties() {
        Properties p = new Properties();
        p.setProperty("branch", branch);
        p.setProperty("timeline", timeline.toString());
        p.setProperty("compute.dataDir", computeDataDir.toString());
        p.setProperty("compute.host", computeHost);
        p.setProperty("compute.port", Integer.toString(computePort));
        p.setProperty("compute.user", user);
        p.setProperty("compute.password", password);
        for (int i = 0; i < walSources.size(); i++) {
            WalSource w = walSources.get(i);
            p.setProperty("safekeeper." + i, w.host() + ":" + w.port());
            p.setProperty("safekeeper." + i + ".user", w.user());
            p.setProperty("safekeeper." + i + ".password", w.password());
        }
        p.setProperty("pageserver.host", pageserverHost);
        p.setProperty("pageserver.port", Integer.toString(pageServicePort));
        p.setProperty("pageserver.token", pageserverToken);
        StringWriter w = new StringWriter();
        try {
            p.store(w, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString();
    }

    /** Parses {@link #toProperties}; a missing key is an {@link IllegalArgumentException} naming it. */
    public static VerifyTarget parse(String text) {
        Properties p = new Properties();
        try {
            p.load(new StringReader(text));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<WalSource> sources = new ArrayList<>();
        for (int i = 0; p.containsKey("safekeeper." + i); i++) {
            String addr = p.getProperty("safekeeper." + i);
            int colon = addr.lastIndexOf(':');
            sources.add(new WalSource(addr.substring(0, colon), Integer.parseInt(addr.substring(colon + 1)),
                    require(p, "safekeeper." + i + ".user"), require(p, "safekeeper." + i + ".password")));
        }
        return new VerifyTarget(require(p, "branch"), TimelineId.parse(require(p, "timeline")),
                Path.of(require(p, "compute.dataDir")), require(p, "compute.host"),
                Integer.parseInt(require(p, "compute.port")), require(p, "compute.user"),
                require(p, "compute.password"), sources, require(p, "pageserver.host"),
                Integer.parseInt(require(p, "pageserver.port")), require(p, "pageserver.token"));
    }

    private static String require(Properties p, String key) {
        String v = p.getProperty(key);
        if (v == null) {
            throw new IllegalArgumentException("the verify target has no '" + key + "'");
        }
        return v;
    }

    @Override
    public String toString() {
        return "VerifyTarget[branch=" + branch + ", timeline=" + timeline + "]"; // no secrets in logs
    }
}
