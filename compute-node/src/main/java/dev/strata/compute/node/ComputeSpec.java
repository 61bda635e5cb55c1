package dev.strata.compute.node;

import dev.strata.compute.config.ComputeNetwork;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.safekeeper.election.Proposer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything needed to start a compute for a timeline.
 *
 * @param timeline          the timeline it writes
 * @param safekeepers       the timeline's safekeepers (ids become {@code application_name}s in
 *                          {@code synchronous_standby_names}; a majority must acknowledge each commit)
 * @param dataDir           where the basebackup is unpacked; replaced at every start
 * @param port              the compute's port on 127.0.0.1 (0: any free port; a fixed port keeps the
 *                          endpoint's address across restarts)
 * @param user              the database superuser the agent and the safekeepers log in as
 * @param password          its password (the compute never uses {@code trust})
 * @param authToken         the compute token of {@code timeline} (scope {@code compute}, claim
 *                          {@code timeline_id}): what the agent presents to the safekeepers, which
 *                          let it elect, announce and read the status of this timeline only
 *                          (docs/safekeeper.md, "Authentication"). From configuration, never a command line
 * @param settings          extra {@code postgresql.conf} settings, applied after the compute's own
 * @param electionTimeout   bound on the election
 * @param pageserverTimeout bound on waiting for the pageserver to reach the epoch start
 * @param network           where PostgreSQL listens and whom it admits ({@link ComputeNetwork#LOOPBACK}
 *                          in the local cluster)
 */
public record ComputeSpec(
        TimelineId timeline,
        List<Proposer.Member> safekeepers,
        Path dataDir,
        int port,
        String user,
        String password,
        String authToken,
        Map<String, String> settings,
        Duration electionTimeout,
        Duration pageserverTimeout,
        ComputeNetwork network) {

    public ComputeSpec {
        Objects.requireNonNull(network, "network is null");
        Objects.requireNonNull(timeline, "timeline is null");
        Objects.requireNonNull(dataDir, "dataDir is null");
        Objects.requireNonNull(user, "user is null");
        Objects.requireNonNull(password, "password is null");
        Objects.requireNonNull(authToken, "authToken is null");
        Objects.requireNonNull(electionTimeout, "electionTimeout is null");
        Objects.requireNonNull(pageserverTimeout, "pageserverTimeout is null");
        safekeepers = List.copyOf(safekeepers);
        settings = Map.copyOf(settings);
        if (safekeepers.isEmpty()) {
            throw new IllegalArgumentException("a compute needs safekeepers: without them no commit is durable");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is not a TCP port");
        }
        if (password.isEmpty()) {
            throw new IllegalArgumentException("the compute's role needs a password: computes never use trust");
        }
        if (authToken.isBlank()) {
            throw new IllegalArgumentException("the compute agent needs the compute token of its timeline: every"
                    + " safekeeper call carries one");
        }
    }

    /** Without the password and the token: a spec may be logged. */
    @Override
    public String toString() {
        return "ComputeSpec[timeline=" + timeline + ", safekeepers=" + safekeepers + ", dataDir=" + dataDir + ", port="
                + port + ", user=" + user + ", settings=" + settings + ", electionTimeout=" + electionTimeout
                + ", pageserverTimeout=" + pageserverTimeout + ", network=" + network + "]";
    }

    /** Defaults for the local cluster: any port, 30 s election, 60 s for the pageserver. */
    public static ComputeSpec local(TimelineId timeline, List<Proposer.Member> safekeepers, Path dataDir,
                                    String user, String password, String authToken) {
        return new ComputeSpec(timeline, safekeepers, dataDir, 0, user, password, authToken, Map.of(),
                Duration.ofSeconds(30), Duration.ofSeconds(60), ComputeNetwork.LOOPBACK);
    }

    public ComputeSpec withPort(int newPort) {
        return new ComputeSpec(timeline, safekeepers, dataDir, newPort, user, password, authToken, settings, electionTimeout,
                pageserverTimeout, network);
    }

    public ComputeSpec withSettings(Map<String, String> newSettings) {
        return new ComputeSpec(timeline, safekeepers, dataDir, port, user, password, authToken, newSettings, electionTimeout,
                pageserverTimeout, network);
    }

    public ComputeSpec withNetwork(ComputeNetwork newNetwork) {
        return new ComputeSpec(timeline, safekeepers, dataDir, port, user, password, authToken, settings, electionTimeout,
                pageserverTimeout, newNetwork);
    }
}
