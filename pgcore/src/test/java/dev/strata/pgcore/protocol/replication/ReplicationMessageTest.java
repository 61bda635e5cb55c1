package dev.strata.pgcore.protocol.replication;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.protocol.ProtocolException;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ReplicationMessageTest {

    @Test
    void everyMessageRoundTrips() {
        List<ReplicationMessage> all = List.of(
                new ReplicationMessage.XLogData(Lsn.parse("0/3000000"), Lsn.parse("0/3000100"), 12345L, new byte[] {1, 2, 3}),
                new ReplicationMessage.XLogData(Lsn.parse("1/0"), Lsn.parse("1/0"), 0L, new byte[0]),
                new ReplicationMessage.PrimaryKeepalive(Lsn.parse("0/3000100"), -5L, true),
                new ReplicationMessage.StandbyStatusUpdate(Lsn.parse("0/10"), Lsn.parse("0/8"), Lsn.INVALID, 99L, false),
                new ReplicationMessage.HotStandbyFeedback(7L, 740, 0, 0, 0));
        for (ReplicationMessage m : all) {
            assertThat(ReplicationMessage.decode(m.encode())).usingRecursiveComparison().isEqualTo(m);
        }
    }

    @Test
    void xlogDataLayoutIsPostgres() {
        byte[] bytes = new ReplicationMessage.XLogData(Lsn.of(0x0102030405060708L), Lsn.of(9), 10, new byte[] {42}).encode();
        assertThat(bytes).hasSize(26);
        assertThat(bytes[0]).isEqualTo((byte) 'w');
        assertThat(Arrays.copyOfRange(bytes, 1, 9)).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
        assertThat(bytes[25]).isEqualTo((byte) 42);
        assertThat(new ReplicationMessage.XLogData(Lsn.of(100), Lsn.of(9), 10, new byte[5]).dataEnd()).isEqualTo(Lsn.of(105));
    }

    @Test
    void statusUpdateLayoutIsPostgres() {
        byte[] bytes = new ReplicationMessage.StandbyStatusUpdate(Lsn.of(1), Lsn.of(2), Lsn.of(3), 4, true).encode();
        assertThat(bytes).hasSize(34);
        assertThat(bytes[0]).isEqualTo((byte) 'r');
        assertThat(bytes[33]).isEqualTo((byte) 1);
    }

    @Test
    void malformedMessagesAreProtocolErrors() {
        assertThatThrownBy(() -> ReplicationMessage.decode(new byte[0])).isInstanceOf(ProtocolException.class)
                .hasMessageContaining("empty");
        assertThatThrownBy(() -> ReplicationMessage.decode(new byte[] {'w', 1, 2})).isInstanceOf(ProtocolException.class)
                .hasMessageContaining("XLogData: length 3, expected at least 25");
        assertThatThrownBy(() -> ReplicationMessage.decode(new byte[19])).isInstanceOf(ProtocolException.class)
                .hasMessageContaining("unknown replication message type 0x00");
        byte[] keepalive = new ReplicationMessage.PrimaryKeepalive(Lsn.of(1), 2, false).encode();
        assertThatThrownBy(() -> ReplicationMessage.decode(Arrays.copyOf(keepalive, 19)))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("PrimaryKeepalive: length 19, expected 18");
        keepalive[17] = 2;
        assertThatThrownBy(() -> ReplicationMessage.decode(keepalive))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("reply flag must be 0 or 1");
    }

    @Test
    void timestampsCountMicrosecondsFrom2000() {
        assertThat(PgTimestamp.toInstant(0)).isEqualTo(Instant.parse("2000-01-01T00:00:00Z"));
        assertThat(PgTimestamp.fromInstant(Instant.parse("2000-01-01T00:00:01.000002Z"))).isEqualTo(1_000_002L);
        assertThat(PgTimestamp.toInstant(-1)).isEqualTo(Instant.parse("1999-12-31T23:59:59.999999Z"));
        assertThat(PgTimestamp.EPOCH_OFFSET_SECONDS).isEqualTo(946_684_800L);
        Instant now = Instant.now();
        assertThat(PgTimestamp.toInstant(PgTimestamp.fromInstant(now)))
                .isEqualTo(now.truncatedTo(java.time.temporal.ChronoUnit.MICROS));
    }
}
