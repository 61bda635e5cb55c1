package dev.strata.control.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.control.model.AgentState;
import dev.strata.control.model.BranchState;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Lifecycle;
import dev.strata.control.model.OperationState;
import dev.strata.control.model.StorageNodeState;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Every state enum's transition table, written out once more by hand: a change to one is deliberate. */
class LifecyclesTest {

    @Test
    void endpoint() {
        check(EndpointState.class, Map.of(
                EndpointState.SUSPENDED, Set.of(EndpointState.WAKING),
                EndpointState.WAKING, Set.of(EndpointState.RUNNING, EndpointState.SUSPENDED),
                EndpointState.RUNNING, Set.of(EndpointState.SUSPENDING),
                EndpointState.SUSPENDING, Set.of(EndpointState.SUSPENDED)));
    }

    @Test
    void branch() {
        check(BranchState.class, Map.of(
                BranchState.CREATING, Set.of(BranchState.READY, BranchState.DELETING),
                BranchState.READY, Set.of(BranchState.DELETING),
                BranchState.DELETING, Set.of()));
    }

    @Test
    void operation() {
        check(OperationState.class, Map.of(
                OperationState.SCHEDULED, Set.of(OperationState.RUNNING, OperationState.FAILED),
                OperationState.RUNNING, Set.of(OperationState.SUCCEEDED, OperationState.FAILED),
                OperationState.SUCCEEDED, Set.of(),
                OperationState.FAILED, Set.of()));
        assertThat(EnumSet.allOf(OperationState.class)).filteredOn(OperationState::isFinal)
                .containsExactlyInAnyOrder(OperationState.SUCCEEDED, OperationState.FAILED);
    }

    @Test
    void agent() {
        check(AgentState.class, Map.of(
                AgentState.IDLE, Set.of(AgentState.CLAIMED, AgentState.RETIRED),
                AgentState.CLAIMED, Set.of(AgentState.IDLE, AgentState.RETIRED),
                AgentState.RETIRED, Set.of()));
    }

    @Test
    void storageNode() {
        check(StorageNodeState.class, Map.of(
                StorageNodeState.ACTIVE, Set.of(StorageNodeState.DRAINING),
                StorageNodeState.DRAINING, Set.of(StorageNodeState.ACTIVE, StorageNodeState.DECOMMISSIONED),
                StorageNodeState.DECOMMISSIONED, Set.of()));
    }

    private static <S extends Enum<S> & Lifecycle<S>> void check(Class<S> type, Map<S, Set<S>> allowed) {
        assertThat(allowed.keySet()).containsExactlyInAnyOrderElementsOf(EnumSet.allOf(type));
        for (S from : type.getEnumConstants()) {
            for (S to : type.getEnumConstants()) {
                boolean expected = from == to || allowed.get(from).contains(to);
                assertThat(from.canBecome(to)).as("%s -> %s", from, to).isEqualTo(expected);
            }
        }
    }
}
