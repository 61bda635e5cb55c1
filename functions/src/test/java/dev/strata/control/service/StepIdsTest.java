package dev.strata.control.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.control.model.OperationId;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Derived ids: stable per operation (a replay names the same items), distinct across operations and kinds. */
class StepIdsTest {

    @Test
    void sameOperationSameIds() {
        OperationId op = OperationId.of("op-fixtureproject");
        // pinned: the handler fixtures carry these
        assertThat(StepIds.mainBranch(op).toString()).isEqualTo("br-ioqy347vjqt2fv7g");
        assertThat(StepIds.mainTimeline(op).toString()).isEqualTo("3eb671ca81392ed1b231bf96b69e8ce1");
        assertThat(StepIds.mainBranch(OperationId.of("op-fixtureproject"))).isEqualTo(StepIds.mainBranch(op));
    }

    @Test
    void distinctOperationsDistinctIds() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 2_000; i++) {
            OperationId op = OperationId.of("op-x" + i);
            assertThat(seen.add(StepIds.mainBranch(op).toString())).isTrue();
            assertThat(seen.add(StepIds.defaultEndpoint(op).toString())).isTrue();
            assertThat(seen.add(StepIds.launchedAgent(op).toString())).isTrue();
            assertThat(seen.add(StepIds.mainTimeline(op).toString())).isTrue();
        }
        // 16 characters of a-z2-7 after the prefix: 80 bits
        assertThat(StepIds.defaultEndpoint(OperationId.of("op-a")).toString()).matches("ep-[a-z2-7]{16}");
        assertThat(StepIds.launchedAgent(OperationId.of("op-a")).toString()).matches("agent-[a-z2-7]{16}");
        // a wake's next launched agents (another wake claimed the one before): the first is the same id
        OperationId op = OperationId.of("op-a");
        assertThat(StepIds.launchedAgent(op, 1)).isEqualTo(StepIds.launchedAgent(op));
        assertThat(StepIds.launchedAgent(op, 2)).isNotEqualTo(StepIds.launchedAgent(op, 1))
                .isNotEqualTo(StepIds.launchedAgent(op, 3));
        assertThat(StepIds.launchedAgent(op, 2).toString()).matches("agent-[a-z2-7]{16}");
    }
}
