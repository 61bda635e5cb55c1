package dev.strata.control.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The environment the stack gives a function, read strictly: every bad value names its variable. */
class AwsSettingsTest {

    private static Map<String, String> env() {
        Map<String, String> env = new HashMap<>();
        env.put(AwsSettings.PAGESERVER_URL, "http://pageserver.strata.internal:9898");
        env.put(AwsSettings.SAFEKEEPERS, "sk-1=http://sk-1.strata.internal:7676, sk-2=http://sk-2.strata.internal:7676,"
                + "sk-3=http://sk-3.strata.internal:7676");
        env.put(AwsSettings.WALSENDER_PORT, "5454");
        env.put(AwsSettings.SIGNING_KEY_SECRET, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:strata/t/jwt-AbCdEf");
        env.put(AwsSettings.REPLICATION_SECRET, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:strata/t/repl-AbCdEf");
        env.put(AwsSettings.SUPERUSER_SECRET, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:strata/t/admin-AbCdEf");
        return env;
    }

    @Test
    void readsWhatTheStackSets() {
        AwsSettings s = AwsSettings.storage(env());
        assertThat(s.pageserver().getHost()).isEqualTo("pageserver.strata.internal");
        assertThat(s.safekeepers()).extracting(m -> m.id().toString()).containsExactly("sk-1", "sk-2", "sk-3");
        assertThat(s.safekeepers().get(1).url().toString()).isEqualTo("http://sk-2.strata.internal:7676");
        assertThat(s.walsenderPort()).isEqualTo(5454);
    }

    @ParameterizedTest
    @ValueSource(strings = {AwsSettings.PAGESERVER_URL, AwsSettings.SAFEKEEPERS, AwsSettings.WALSENDER_PORT,
            AwsSettings.SIGNING_KEY_SECRET, AwsSettings.REPLICATION_SECRET, AwsSettings.SUPERUSER_SECRET})
    void aMissingVariableIsNamed(String name) {
        Map<String, String> env = env();
        env.put(name, " ");
        assertThatThrownBy(() -> AwsSettings.storage(env)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(name + " is not set");
    }

    @ParameterizedTest
    @ValueSource(strings = {"pageserver:9898", "https://pageserver:9898", "http://pageserver", "http://:9898", "%%%"})
    void aPageserverThatIsNotAnHttpHostPortUrlIsRefused(String url) {
        Map<String, String> env = env();
        env.put(AwsSettings.PAGESERVER_URL, url);
        assertThatThrownBy(() -> AwsSettings.storage(env)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(AwsSettings.PAGESERVER_URL);
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://sk-1:7676", "sk-1=http://a:1,sk-2=http://b:1", "sk-1=http://a:1,sk-1=http://b:1,sk-3=http://c:1",
            "sk-1=http://a:1,=http://b:1,sk-3=http://c:1", "sk-1=http://a:1,sk-2=ftp://b:1,sk-3=http://c:1",
            "sk 1=http://a:1,sk-2=http://b:1,sk-3=http://c:1"})
    void aSafekeeperListWithoutAnOddQuorumOfWellFormedMembersIsRefused(String list) {
        Map<String, String> env = env();
        env.put(AwsSettings.SAFEKEEPERS, list);
        assertThatThrownBy(() -> AwsSettings.storage(env)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(AwsSettings.SAFEKEEPERS);
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "65536", "-1", "five", "5454 "})
    void aWalsenderPortOutsideTcpIsRefused(String port) {
        Map<String, String> env = env();
        env.put(AwsSettings.WALSENDER_PORT, port);
        if (port.equals("5454 ")) {
            assertThat(AwsSettings.storage(env).walsenderPort()).as("surrounding blanks are trimmed").isEqualTo(5454);
            return;
        }
        assertThatThrownBy(() -> AwsSettings.storage(env)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(AwsSettings.WALSENDER_PORT);
    }

    @Test
    void computeStepsWithoutTheKeyOnlyFailWhenTheyNeedIt() {
        AwsSettings s = AwsSettings.compute(Map.of(AwsSettings.ECS_CLUSTER, "strata-t",
                AwsSettings.POOL_SERVICE, "strata-t-compute-pool"));
        assertThat(s.cluster()).contains("strata-t");
        assertThat(s.poolService()).contains("strata-t-compute-pool");
        assertThatThrownBy(s::requireSigningKeySecret).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(AwsSettings.SIGNING_KEY_SECRET);
    }
}
