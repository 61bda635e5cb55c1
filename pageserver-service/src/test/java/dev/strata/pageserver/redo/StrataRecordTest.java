package dev.strata.pageserver.redo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.SlruKind;
import dev.strata.pageserver.layer.Value;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

class StrataRecordTest {

    private static final Key CLOG0 = Key.slruPage(SlruKind.CLOG, 0, 0);
    private final PageserverRedo redo = new PageserverRedo();

    @Test
    void clogStatusBitsLandWherePostgresReadsThem() {
        // xid 5: byte 1, bits 2..3; xid 32771 is on page 1, not this one.
        byte[] page = redo.apply(CLOG0, new byte[8192], List.of(
                StrataRecord.toValue(new StrataRecord.ClogSetStatus(1, new int[] {4, 5, 7})),
                StrataRecord.toValue(new StrataRecord.ClogSetStatus(2, new int[] {6, 4}))));
        assertThat(page[1] & 0xFF).isEqualTo(0b01_10_01_10); // xid7=1 xid6=2 xid5=1 xid4=2
        assertThat(page[0]).isZero();
        assertThatThrownBy(() -> new StrataRecord.ClogSetStatus(1, new int[] {5, 32771}))
                .hasMessageContaining("different CLOG pages");
        assertThatThrownBy(() -> new StrataRecord.ClogSetStatus(3, new int[] {5}))
                .hasMessageContaining("CLOG status 3");
    }

    @Test
    void multixactOffsetsAndMembersFollowTheGroupLayout() {
        Key off = Key.slruPage(SlruKind.MULTIXACT_OFFSETS, 0, 1);
        byte[] offsets = redo.apply(off, new byte[8192],
                List.of(StrataRecord.toValue(new StrataRecord.MultiXactOffset(2048 + 3, 777))));
        assertThat(ByteBuffer.wrap(offsets).order(ByteOrder.LITTLE_ENDIAN).getInt(12)).isEqualTo(777);

        // Member offsets 1637..1642 are on members page 1: group 0 holds 1636..1639, group 1 1640..1643.
        Key mem = Key.slruPage(SlruKind.MULTIXACT_MEMBERS, 0, 1);
        int[] xids = {1001, 1002, 1003, 1004, 1005, 1006};
        byte[] st = {0, 1, 2, 3, 4, 5};
        byte[] page = redo.apply(mem, new byte[8192],
                List.of(StrataRecord.toValue(new StrataRecord.MultiXactMembers(1637, xids, st))));
        ByteBuffer b = ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getInt(0)).isEqualTo(0x02_01_00_00); // flags of 1636..1639: 1637=0, 1638=1, 1639=2
        assertThat(b.getInt(8)).isEqualTo(1001);         // 1637 is member 1 of group 0
        assertThat(b.getInt(16)).isEqualTo(1003);
        assertThat(b.getInt(20)).isEqualTo(0x00_05_04_03); // group 1 flags
        assertThat(b.getInt(24)).isEqualTo(1004);
        assertThat(b.getInt(32)).isEqualTo(1006);
        assertThatThrownBy(() -> new StrataRecord.MultiXactMembers(1635, new int[] {1, 2}, new byte[2]))
                .hasMessageContaining("span two pages");
    }

    @Test
    void payloadsRoundTripAndBadOnesAreNamed() {
        for (StrataRecord r : List.of(new StrataRecord.ClogSetStatus(2, new int[] {-5, -6}),
                new StrataRecord.MultiXactOffset(-1, 7),
                new StrataRecord.MultiXactMembers(0, new int[] {9}, new byte[] {5}))) {
            assertThat(StrataRecord.decode(r.encode())).isEqualTo(r);
        }
        byte[] good = new StrataRecord.MultiXactOffset(1, 2).encode();
        byte[] badVersion = good.clone();
        badVersion[0] = 9;
        assertThatThrownBy(() -> redo.apply(CLOG0, new byte[8192], List.of(new Value.WalRecord(badVersion, false))))
                .hasMessageContaining("format version 9").hasMessageContaining("slru");
        byte[] badOp = good.clone();
        badOp[1] = 42;
        assertThatThrownBy(() -> StrataRecord.decode(badOp)).hasMessageContaining("unknown Strata record op 42");
        assertThatThrownBy(() -> StrataRecord.decode(java.util.Arrays.copyOf(good, 7))).hasMessageContaining("truncated");
        byte[] clog = new StrataRecord.ClogSetStatus(1, new int[] {1, 2}).encode();
        assertThatThrownBy(() -> StrataRecord.decode(java.util.Arrays.copyOf(clog, clog.length - 1)))
                .hasMessageContaining("count 2 needs 8 bytes");
        assertThatThrownBy(() -> redo.apply(CLOG0, null, List.of(StrataRecord.toValue(new StrataRecord.MultiXactOffset(1, 2)))))
                .hasMessageContaining("no base page");
    }
}
