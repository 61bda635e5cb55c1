package dev.strata.controlapi.wake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.statemachines.Workflow;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.regions.Region;

/** The AWS proxy's command line and environment, as the ECS task definition (ProxyService) sets them. */
class AwsProxyMainTest {

    static final String WAKE = "arn:aws:states:eu-west-1:123456789012:stateMachine:strata-prod-wake";
    static final String SUSPEND = "arn:aws:states:eu-west-1:123456789012:stateMachine:strata-prod-suspend";

    static Map<String, String> taskEnvironment() {
        Map<String, String> env = new HashMap<>();
        env.put("STRATA_METADATA_TABLE", "strata-prod-metadata");
        env.put("STRATA_SFN_WAKE", WAKE);
        env.put("STRATA_SFN_SUSPEND", SUSPEND);
        env.put("AWS_REGION", "eu-west-1");
        return env;
    }

    @Test
    void readsTheTaskDefinitionsEnvironment() {
        AwsProxyMain.Parsed p = AwsProxyMain.parse(new String[]{"--listen", "0.0.0.0", "--port", "5432"}, taskEnvironment());
        AwsProxyMain.ControlPlaneConfig c = p.controlPlane();
        assertThat(c.table()).isEqualTo("strata-prod-metadata");
        assertThat(c.stateMachines()).isEqualTo(Map.of(Workflow.WAKE, WAKE, Workflow.SUSPEND, SUSPEND));
        assertThat(c.region()).isEqualTo(Region.EU_WEST_1);
        assertThat(c.dynamoEndpoint()).isEmpty();
        assertThat(c.sfnEndpoint()).isEmpty();
        assertThat(c.livenessTimeout()).isEqualTo(Duration.ofSeconds(1));
        assertThat(p.proxy().config().host()).isEqualTo("0.0.0.0");
        assertThat(p.proxy().config().port()).isEqualTo(5432);
        assertThat(p.proxy().endpoints()).isEmpty();
    }

    @Test
    void argumentsWinOverTheEnvironment() {
        String other = "arn:aws:states:eu-west-1:123456789012:stateMachine:other-wake";
        Map<String, String> env = taskEnvironment();
        env.put("STRATA_DYNAMODB_ENDPOINT", "http://127.0.0.1:4567");
        env.put(AwsProxyMain.SFN_ENDPOINT_ENV, "http://127.0.0.1:5000");
        AwsProxyMain.ControlPlaneConfig c = AwsProxyMain.parse(new String[]{"--metadata-table", "other.table",
                "--wake-state-machine", other, "--liveness-timeout-ms", "250"}, env).controlPlane();
        assertThat(c.table()).isEqualTo("other.table");
        assertThat(c.stateMachines().get(Workflow.WAKE)).isEqualTo(other);
        assertThat(c.dynamoEndpoint()).isEqualTo(Optional.of(URI.create("http://127.0.0.1:4567")));
        assertThat(c.sfnEndpoint()).isEqualTo(Optional.of(URI.create("http://127.0.0.1:5000")));
        assertThat(c.livenessTimeout()).isEqualTo(Duration.ofMillis(250));
    }

    @Test
    void refusesWhatIsMissingOrMalformedNamingIt() {
        Map<String, String> noTable = taskEnvironment();
        noTable.remove("STRATA_METADATA_TABLE");
        assertThatThrownBy(() -> AwsProxyMain.parse(new String[0], noTable))
                .hasMessageContaining("--metadata-table").hasMessageContaining("STRATA_METADATA_TABLE");

        Map<String, String> noWake = taskEnvironment();
        noWake.remove("STRATA_SFN_WAKE");
        assertThatThrownBy(() -> AwsProxyMain.parse(new String[0], noWake)).hasMessageContaining("STRATA_SFN_WAKE");

        Map<String, String> badArn = taskEnvironment();
        badArn.put("STRATA_SFN_SUSPEND", "strata-prod-suspend");
        assertThatThrownBy(() -> AwsProxyMain.parse(new String[0], badArn))
                .hasMessageContaining("STRATA_SFN_SUSPEND").hasMessageContaining("not a state machine ARN");

        Map<String, String> noRegion = taskEnvironment();
        noRegion.remove("AWS_REGION");
        assertThatThrownBy(() -> AwsProxyMain.parse(new String[0], noRegion)).hasMessageContaining("AWS_REGION");

        assertThatThrownBy(() -> AwsProxyMain.parse(new String[]{"--metadata-table", "x"}, taskEnvironment()))
                .hasMessageContaining("not a DynamoDB table name");
        assertThatThrownBy(() -> AwsProxyMain.parse(new String[]{"--metadata-table", "bad\u0000name\nmore"}, taskEnvironment()))
                .hasMessageContaining("bad?name?more");
        assertThatThrownBy(() -> AwsProxyMain.parse(new String[]{"--liveness-timeout-ms", "0"}, taskEnvironment()))
                .hasMessageContaining("--liveness-timeout-ms");
        assertThatThrownBy(() -> AwsProxyMain.parse(new String[]{"--wake-state-machine"}, taskEnvironment()))
                .hasMessageContaining("--wake-state-machine needs a value");

        Map<String, String> badUrl = taskEnvironment();
        badUrl.put("STRATA_DYNAMODB_ENDPOINT", "file:///etc/passwd");
        assertThatThrownBy(() -> AwsProxyMain.parse(new String[0], badUrl)).hasMessageContaining("STRATA_DYNAMODB_ENDPOINT");
    }

    @Test
    void staticEndpointsAreRefusedTheMetadataIsTheOneSource() {
        assertThatThrownBy(() -> AwsProxyMain.parse(new String[]{"--endpoint", "ep-a=10.0.0.1:5432"}, taskEnvironment()))
                .hasMessageContaining("--endpoint");
        assertThatThrownBy(() -> AwsProxyMain.parse(new String[]{"--no-such-flag"}, taskEnvironment()))
                .hasMessageContaining("unknown argument --no-such-flag");
    }

    @Test
    void operationErrorsReachClientsPrintableAndBounded() {
        assertThat(ControlPlaneWake.clientSafe("agent a-1 did not answer\n\u001b[31m")).isEqualTo("agent a-1 did not answer??[31m");
        String longError = "x".repeat(ControlPlaneWake.MAX_CLIENT_ERROR + 50);
        assertThat(ControlPlaneWake.clientSafe(longError)).hasSize(ControlPlaneWake.MAX_CLIENT_ERROR + 3).endsWith("...");
    }

    @Test
    void settingsRefuseNonsense() {
        assertThatThrownBy(() -> ControlPlaneWake.Settings.DEFAULTS.withDeadline(Duration.ZERO))
                .hasMessageContaining("deadline");
        assertThatThrownBy(() -> ControlPlaneWake.Settings.DEFAULTS.withPolls(Duration.ofMillis(100), Duration.ofMillis(10)))
                .hasMessageContaining("firstPoll <= maxPoll");
    }
}
