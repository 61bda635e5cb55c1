package dev.strata.pgcore.id;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class IdsTest {

    @Test
    void timelineIdPrintsAndParses() {
        TimelineId id = TimelineId.random();
        assertThat(id.toString()).hasSize(32).matches("[0-9a-f]+");
        assertThat(TimelineId.parse(id.toString())).isEqualTo(id).hasSameHashCodeAs(id);
        assertThat(TimelineId.parse(id.toString().toUpperCase())).isEqualTo(id);
        assertThat(TimelineId.random()).isNotEqualTo(id);
    }

    @Test
    void timelineIdRejectsBadText() {
        for (String bad : new String[] {"", "abc", "zz".repeat(16), "0".repeat(31), "0".repeat(33), "../" + "0".repeat(29)}) {
            assertThatThrownBy(() -> TimelineId.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> TimelineId.of(new byte[3])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void nodeIdIsAValidStandbyName() {
        assertThat(NodeId.of("sk-1").toString()).isEqualTo("sk-1");
        for (String bad : new String[] {"", "-sk", "SK-1", "sk 1", "sk,2", "a".repeat(64), "sk'1"}) {
            assertThatThrownBy(() -> NodeId.of(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
