package dev.strata.cli.verify;

import dev.strata.cli.local.LocalPageserver.WalSource;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.stream.Collectors;

/**
 * What {@code strata verify} needs of one branch of a running cluster: the safekeepers a stock
 * standby streams the branch's WAL from, with the timeline's committed head and the LSNs where
 * its computes started (where a standby can begin, from the pageserver's basebackup at such an
 * LSN), the superuser's credentials, the pageserver's page service with a compute token for the
 * branch's timeline (the compute's own read path), and the branch's compute if the cluster runs
 * it itself (its data directory and a superuser connection on loopback, for
 * {@link StandbyOracle#start}; null otherwise). The running cluster hands it out on its admin port
 * ({@code GET /branches/NAME/verify-target}, operator token) as a properties text: it holds
 * passwords and a token, so it only ever travels on loopback to the operator.
 */
public record VerifyTarget(String branch, TimelineId timeline, Path computeDataDir, String computeHost,
                           int computePort, String user, String password, List<WalSource> walSources,
                           String pageserverHost, int pageServicePort, String pageserverToken, Lsn committed,
                           List<Lsn> termStarts) {

    public VerifyTarget {
        Objects.requireNonNull(branch, "branch is null");
        Objects.requireNonNull(timeline, "timeline is null");
        Objects.requireNonNull(committed, "committed is null");
        walSources = List.copyOf(walSources);
        termStarts = List.copyOf(termStarts);
        if (walSources.isEmpty()) {
            throw new IllegalArgumentException("branch '" + branch + "': no safekeeper to stream from");
        }
        if ((computeDataDir == null) != (computeHost == null)) {
            throw new IllegalArgumentException("branch '" + branch + "': a compute needs both its directory and host");
        }
    }

    /** Whether the branch's compute runs in the cluster itself (so a standby can be copied from it). */
    public boolean hasCompute() {
        return computeDataDir != null;
    }

    /** A libpq URI for {@code database} on the branch's compute (superuser, loopback). */
    public String computeUri(String database) {
        if (!hasCompute()) {
            throw new IllegalStateException("branch '" + branch + "': its compute is not the cluster's own");
        }
        return "postgresql://" + computeHost + ":" + computePort + "/" + database;
    }

    /** The properties text the admin port sends. */
    public String toProperties() {
        Properties p = new Properties();
        p.setProperty("branch", branch);
        p.setProperty("timeline", timeline.toString());
        if (hasCompute()) {
            p.setProperty("compute.dataDir", computeDataDir.toString());
            p.setProperty("compute.host", computeHost);
            p.setProperty("compute.port", Integer.toString(computePort));
        }
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
        p.setProperty("committed", committed.toString());
        p.setProperty("termStarts", termStarts.stream().map(Lsn::toString).collect(Collectors.joining(",")));
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
        String dataDir = p.getProperty("compute.dataDir");
        String starts = p.getProperty("termStarts", "");
        return new VerifyTarget(require(p, "branch"), TimelineId.parse(require(p, "timeline")),
                dataDir == null ? null : Path.of(dataDir), dataDir == null ? null : require(p, "compute.host"),
                dataDir == null ? 0 : Integer.parseInt(require(p, "compute.port")), require(p, "compute.user"),
                require(p, "compute.password"), sources, require(p, "pageserver.host"),
                Integer.parseInt(require(p, "pageserver.port")), require(p, "pageserver.token"),
                Lsn.parse(require(p, "committed")),
                starts.isEmpty() ? List.of() : Arrays.stream(starts.split(",")).map(Lsn::parse).toList());
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
