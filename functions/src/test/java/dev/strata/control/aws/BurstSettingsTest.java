package dev.strata.control.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** On-demand compute tasks are configured by the stack's environment, strictly, or not at all. */
class BurstSettingsTest {

    private static Map<String, String> env() {
        Map<String, String> env = new HashMap<>();
        env.put(BurstSettings.TASK_FAMILY, "strata-prod-compute");
        env.put(BurstSettings.SUBNETS, "subnet-a, subnet-b,");
        env.put(BurstSettings.SECURITY_GROUPS, "sg-1");
        env.put(BurstSettings.MAX, "10");
        env.put(BurstSettings.IDLE_MINUTES, "15");
        return env;
    }

    @Test
    void theStacksVariablesGiveTheSettings() {
        assertThat(BurstSettings.fromEnvironment(env())).hasValue(new BurstSettings("strata-prod-compute",
                List.of("subnet-a", "subnet-b"), List.of("sg-1"), 10, 15));
    }

    @Test
    void withoutAFamilyOrWithALimitOfZeroTheyAreOff() {
        Map<String, String> none = env();
        none.remove(BurstSettings.TASK_FAMILY);
        assertThat(BurstSettings.fromEnvironment(none)).isEmpty();
        Map<String, String> zero = env();
        zero.put(BurstSettings.MAX, "0");
        assertThat(BurstSettings.fromEnvironment(zero)).isEmpty();
    }

    @Test
    void aMalformedOrMissingVariableIsNamed() {
        Map<String, String> e = env();
        e.put(BurstSettings.MAX, "many");
        assertThatThrownBy(() -> BurstSettings.fromEnvironment(e)).hasMessageContaining(BurstSettings.MAX)
                .hasMessageContaining("0 to 100");
        Map<String, String> idle = env();
        idle.put(BurstSettings.IDLE_MINUTES, "0");
        assertThatThrownBy(() -> BurstSettings.fromEnvironment(idle)).hasMessageContaining(BurstSettings.IDLE_MINUTES);
        Map<String, String> noSubnets = env();
        noSubnets.put(BurstSettings.SUBNETS, " , ");
        assertThatThrownBy(() -> BurstSettings.fromEnvironment(noSubnets)).hasMessageContaining(BurstSettings.SUBNETS);
    }
}
