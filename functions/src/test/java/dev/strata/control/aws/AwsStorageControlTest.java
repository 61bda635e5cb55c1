package dev.strata.control.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.jwk.OctetKeyPair;
import dev.strata.control.BranchPointException;
import dev.strata.control.TransientStepException;
import dev.strata.control.compute.ComputeProvisioner;
import dev.strata.control.storage.BranchTarget;
import dev.strata.control.storage.Election;
import dev.strata.control.storage.StorageControl;
import dev.strata.control.testing.MotoServer;
import dev.strata.pageserver.http.PageserverConfig;
import dev.strata.pageserver.http.PageserverServer;
import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenIssuer;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.net.LoopbackPorts;
import dev.strata.safekeeper.client.SafekeeperApiException;
import dev.strata.safekeeper.client.SafekeeperClient;
import dev.strata.safekeeper.node.SafekeeperConfig;
import dev.strata.safekeeper.http.SafekeeperServer;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;

/**
 * The storage control a control-plane Lambda runs, configured as the stack configures it: from
 * environment variables naming the services and three secrets in a Secrets Manager (moto's
 * server), against real services on loopback: three safekeepers as on AWS, each on its own
 * address (127.0.0.1-3) with the same ports, and a pageserver that runs initdb. Every token it
 * presents is one it signed itself with the key from the secret; the services trust only that
 * key's public half.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class AwsStorageControlTest {

    @TempDir
    static Path dir;

    private static MotoServer moto;
    private static SecretsManagerClient secretsClient;
    private static OctetKeyPair key;
    private static final List<SafekeeperServer> safekeepers = new ArrayList<>();
    private static PageserverServer pageserver;
    private static Map<String, String> env;

    @BeforeAll
    static void start() throws Exception {
        moto = MotoServer.startOrSkip(dir, "the Secrets Manager side of the AWS storage control");
        secretsClient = moto.client(SecretsManagerClient.builder(), Region.US_EAST_1);
        key = AuthKeys.generate();
        TokenVerifier verifier = new TokenVerifier(List.of(key.toPublicJWK()));
        TokenIssuer issuer = new TokenIssuer(key);
        String replicationPassword = "repl-" + Long.toHexString(System.nanoTime());

        // As on AWS: the same API and walsender ports on three hosts (here three loopback addresses).
        int http = LoopbackPorts.pickTcp();
        int walsender = LoopbackPorts.pickTcp();
        List<String> members = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            Map<NodeId, URI> peers = new HashMap<>();
            for (int p = 1; p <= 3; p++) {
                if (p != i) {
                    peers.put(NodeId.of("sk-" + p), URI.create("http://127.0.0." + p + ":" + http));
                }
            }
            safekeepers.add(SafekeeperServer.start(new SafekeeperConfig(NodeId.of("sk-" + i), dir.resolve("sk-" + i),
                    "127.0.0." + i, walsender, http, peers, "strata_replicator", replicationPassword,
                    Duration.ofMillis(100), verifier, issuer.issue(Claims.service(Scope.SAFEKEEPER_DATA, "sk-" + i,
                    Optional.empty())))));
            members.add("sk-" + i + "=http://127.0.0." + i + ":" + http);
        }
        pageserver = PageserverServer.start(PageserverConfig.local(dir.resolve("pageserver"), verifier));

        env = new HashMap<>();
        env.put("AWS_REGION", "us-east-1");
        env.put(AwsSettings.PAGESERVER_URL, "http://127.0.0.1:" + pageserver.httpPort());
        env.put(AwsSettings.SAFEKEEPERS, String.join(",", members));
        env.put(AwsSettings.WALSENDER_PORT, Integer.toString(walsender));
        env.put(AwsSettings.SIGNING_KEY_SECRET, secret("jwt-signing-key", key.toJSONString()));
        env.put(AwsSettings.REPLICATION_SECRET, secret("replication-password", replicationPassword));
        env.put(AwsSettings.SUPERUSER_SECRET, secret("compute-admin-password", "pw-" + Long.toHexString(System.nanoTime())));
    }

    private static String secret(String name, String value) {
        return secretsClient.createSecret(b -> b.name("strata/test/" + name).secretString(value)).arn();
    }

    @AfterAll
    static void stop() {
        if (pageserver != null) {
            pageserver.close();
        }
        safekeepers.forEach(SafekeeperServer::close);
        if (secretsClient != null) {
            secretsClient.close();
        }
        if (moto != null) {
            moto.close();
        }
    }

    private static AwsStorageControl control(Map<String, String> environment) {
        return new AwsStorageControl(environment, new AwsSecrets(moto.client(SecretsManagerClient.builder(),
                Region.US_EAST_1), Clock.systemUTC()), Clock.systemUTC());
    }

    @Test
    void createsElectsBranchesAndDeletesTimelinesOnTheServicesTheEnvironmentNames() {
        StorageControl control = control(env);
        TimelineId main = TimelineId.random();
        control.createTimeline(main, 17);
        control.createTimeline(main, 17); // a retried step finds its work done
        assertThat(pageserverHas(main)).as("the pageserver imported initdb").isTrue();
        for (SafekeeperServer sk : safekeepers) {
            assertThat(sk.node().timeline(main)).as(sk.node().nodeId() + " holds the timeline").isPresent();
        }

        Election e = control.elect(main, NodeId.of("agent-1"));
        assertThat(e.term()).isPositive();
        Election again = control.elect(main, NodeId.of("agent-2"));
        assertThat(again.term()).as("a second election takes a higher term").isGreaterThan(e.term());

        Lsn head = control.resolveBranchPoint(main, new BranchTarget.Head());
        assertThat(head.isValid()).isTrue();
        assertThatThrownBy(() -> control.resolveBranchPoint(main, new BranchTarget.AtLsn(Lsn.of(head.value() + (1L << 30)))))
                .isInstanceOf(BranchPointException.class).hasMessageContaining("has no WAL at");
        assertThatThrownBy(() -> control.resolveBranchPoint(TimelineId.random(), new BranchTarget.Head()))
                .isInstanceOf(BranchPointException.class).hasMessageContaining("does not exist on the pageserver");

        TimelineId child = TimelineId.random();
        control.createBranchTimeline(child, main, head);
        control.createBranchTimeline(child, main, head); // retried: done already
        var status = pageserver.node().timelines().get(child);
        assertThat(status.ancestor()).as("the child reads its parent's history").isPresent();
        assertThat(status.ancestor().get().timelineId()).isEqualTo(main);
        for (SafekeeperServer sk : safekeepers) {
            assertThat(sk.node().timeline(child)).as(sk.node().nodeId() + " holds the branch").isPresent();
        }
        TimelineId other = TimelineId.random();
        control.createTimeline(other, 17);
        assertThatThrownBy(() -> control.createBranchTimeline(child, other, head))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("not from " + other);

        control.deleteTimeline(child);
        control.deleteTimeline(child); // deleting what is gone succeeds
        assertThat(pageserverHas(child)).isFalse();
        for (SafekeeperServer sk : safekeepers) {
            assertThat(sk.node().timeline(child)).as(sk.node().nodeId() + " deleted the branch").isEmpty();
        }
        assertThat(pageserverHas(main)).as("the parent stays").isTrue();
    }

    @Test
    void theServicesRefuseTokensOfAnotherKey() {
        OctetKeyPair stranger = AuthKeys.generate();
        Map<String, String> wrongKey = new HashMap<>(env);
        wrongKey.put(AwsSettings.SIGNING_KEY_SECRET, secret("stranger-key-" + System.nanoTime(), stranger.toJSONString()));
        assertThatThrownBy(() -> control(wrongKey).createTimeline(TimelineId.random(), 17))
                .hasMessageContaining("401");
        // and the safekeepers, with the token the control plane's key signs, answer
        SafekeeperClient sk = new SafekeeperClient(safekeepers.get(0).url(), new TokenIssuer(key).issue(
                Claims.service(Scope.SAFEKEEPER_DATA, "t", Optional.empty())));
        assertThatThrownBy(() -> sk.status(TimelineId.random()))
                .isInstanceOfSatisfying(SafekeeperApiException.class, ex -> assertThat(ex.status()).isEqualTo(404));
    }

    @Test
    void aPlaceholderSigningKeyIsAClearErrorThatDoesNotEchoTheSecret() {
        Map<String, String> placeholder = new HashMap<>(env);
        String value = "placeholder-" + Long.toHexString(System.nanoTime());
        placeholder.put(AwsSettings.SIGNING_KEY_SECRET, secret("placeholder-" + System.nanoTime(), value));
        assertThatThrownBy(() -> control(placeholder).elect(TimelineId.random(), NodeId.of("a")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("is not an Ed25519 private JWK")
                .hasMessageContaining(AwsSettings.SIGNING_KEY_SECRET)
                .hasMessageNotContaining(value);
        Map<String, String> missing = new HashMap<>(env);
        missing.put(AwsSettings.REPLICATION_SECRET, "arn:aws:secretsmanager:us-east-1:123456789012:secret:strata/none-AbCdEf");
        assertThatThrownBy(() -> control(missing).createTimeline(TimelineId.random(), 17))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot read secret")
                .hasMessageContaining(AwsSettings.REPLICATION_SECRET);
    }

    @Test
    void anUnreachablePageserverMakesTheStepTransient() {
        Map<String, String> gone = new HashMap<>(env);
        gone.put(AwsSettings.PAGESERVER_URL, "http://127.0.0.1:" + LoopbackPorts.pickTcp());
        assertThatThrownBy(() -> control(gone).createTimeline(TimelineId.random(), 17))
                .isInstanceOf(TransientStepException.class)
                .hasMessageContaining("did not answer");
    }

    @Test
    void theBundleFindsTheAwsImplementationsWithServiceLoader() {
        assertThat(ServiceLoader.load(StorageControl.class).stream().map(ServiceLoader.Provider::type).toList())
                .containsExactly(AwsStorageControl.class);
        assertThat(ServiceLoader.load(ComputeProvisioner.class).stream().map(ServiceLoader.Provider::type).toList())
                .containsExactly(AwsComputeProvisioner.class);
    }

    private static boolean pageserverHas(TimelineId id) {
        return pageserver.node().timelines().list().stream().anyMatch(t -> t.id().equals(id));
    }
}
