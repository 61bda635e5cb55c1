package dev.strata.safekeeper.receive;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.replication.ReplicationException;
import org.junit.jupiter.api.Test;

/** Which server answers mean "the compute no longer has the WAL this safekeeper needs". */
class WalRemovedTest {

    @Test
    void removedSegmentsAndInvalidatedSlotsAreRecognisedAndNothingElse() {
        assertThat(ComputeStreamer.isWalRemoved(new ReplicationException("postgres@127.0.0.1:5432 as sk-1: server error "
                + "58P01: requested WAL segment 000000010000000000000003 has already been removed", "58P01"))).isTrue();
        assertThat(ComputeStreamer.isWalRemoved(new ReplicationException("x: server error 55000: can no longer get "
                + "changes from replication slot \"strata_sk_1\"", "55000"))).isTrue();
        assertThat(ComputeStreamer.isWalRemoved(new ReplicationException("x: server error 42704: replication slot "
                + "\"strata_sk_1\" does not exist", "42704"))).isFalse();
        assertThat(ComputeStreamer.isWalRemoved(new ReplicationException("x: connection closed by the server",
                (Throwable) null))).isFalse();
        assertThat(ComputeStreamer.isWalRemoved(new IllegalStateException("has already been removed"))).isFalse();
        assertThat(ComputeStreamer.isWalRemoved(null)).isFalse();
    }
}
