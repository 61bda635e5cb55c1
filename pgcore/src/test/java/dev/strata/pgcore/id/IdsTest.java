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

    @Test
    void controlPlaneIdsAreLowerCaseDnsLabels() {
        assertThat(ProjectId.of("My-Project").value()).isEqualTo("my-project");
        assertThat(BranchId.of("br-main")).isEqualTo(BranchId.of("BR-MAIN"));
        assertThat(EndpointId.of("a".repeat(63)).value()).hasSize(63);
        assertThat(ProjectId.random().value()).matches("p-[a-z2-9]{16}");
        assertThat(BranchId.random().value()).startsWith("br-");
        assertThat(EndpointId.random()).isNotEqualTo(EndpointId.random());
    }

    @Test
    void controlPlaneIdsRejectBadTextWithAClearMessage() {
        for (String bad : new String[] {"", "-ep", "ep-", "ep_1", "ep 1", "ep.1", "a".repeat(64), "ep\u0000", "\u00e9p", "../x"}) {
            assertThatThrownBy(() -> EndpointId.of(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("invalid endpoint id").hasMessageContaining("1 to 63 characters");
            assertThatThrownBy(() -> ProjectId.of(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("invalid project id");
            assertThatThrownBy(() -> BranchId.of(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("invalid branch id");
        }
        assertThatThrownBy(() -> ProjectId.of(null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("project id is required");
        // a long hostile value is cut in the message, control characters masked
        assertThatThrownBy(() -> EndpointId.of("x".repeat(10_000) + "\n"))
                .hasMessageNotContaining("x".repeat(100)).hasMessageNotContaining("\n");
    }
}
