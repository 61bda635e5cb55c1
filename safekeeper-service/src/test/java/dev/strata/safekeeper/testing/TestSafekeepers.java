package dev.strata.safekeeper.testing;

import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.testing.TestAuth;
import dev.strata.safekeeper.client.SafekeeperClient;
import dev.strata.safekeeper.election.Proposer;
import dev.strata.safekeeper.node.SafekeeperConfig;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The credentials of the safekeepers in this module's tests: one signing key for the test JVM
 * (and the safekeeper processes it starts), a {@code safekeeperdata} token for the nodes and
 * for the tests acting as the cli, and compute tokens for proposers, which stand in for the
 * compute agent just as in production.
 */
public final class TestSafekeepers {

    public static final TestAuth AUTH = new TestAuth();
    private static final String DATA_TOKEN = AUTH.token(Scope.SAFEKEEPER_DATA);

    private TestSafekeepers() {
    }

    /** The {@code safekeeperdata} token every node and every test client holds. */
    public static String dataToken() {
        return DATA_TOKEN;
    }

    /** {@link SafekeeperConfig#local} with this key's verifier and the node's token. */
    public static SafekeeperConfig config(NodeId id, Path dataDir, String replicationPassword) {
        return SafekeeperConfig.local(id, dataDir, replicationPassword, AUTH.verifier(), DATA_TOKEN);
    }

    /** A client of scope {@code safekeeperdata} (a peer, the cli). */
    public static SafekeeperClient client(URI url) {
        return new SafekeeperClient(url, DATA_TOKEN);
    }

    /** A proposer as a compute agent runs it: with the compute token of {@code timeline}. */
    public static Proposer proposer(TimelineId timeline, List<Proposer.Member> members, Duration timeout) {
        return new Proposer(timeline, members, timeout, AUTH.computeToken(timeline));
    }

    /**
     * Writes the public key set and the node token for a safekeeper process into {@code dir}
     * (mode 600) and returns the two paths, for {@code --auth-public-keys} and {@code --token-file}.
     */
    public static Path[] writeFiles(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path keys = dir.resolve("public_keys.jwks");
        Path token = dir.resolve("safekeeper.token");
        AuthKeys.writePublicKeys(keys, List.of(AUTH.key()));
        AuthKeys.writeToken(token, DATA_TOKEN);
        return new Path[] {keys, token};
    }
}
