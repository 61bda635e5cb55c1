package dev.strata.pgcore.wal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PglzTest {

    /**
     * A simple pglz compressor for tests, written from the format description: greedy longest
     * match within the 4095-byte window, 2- or 3-byte tags, literals otherwise.
     */
    static byte[] compress(byte[] src) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        while (i < src.length) {
            int ctrlPos = out.size();
            out.write(0);
            int ctrl = 0;
            for (int bit = 0; bit < 8 && i < src.length; bit++) {
                int bestLen = 0;
                int bestOff = 0;
                for (int off = 1; off <= Math.min(4095, i) && bestLen < 273; off++) {
                    int len = 0;
                    while (len < 273 && i + len < src.length && src[i + len] == src[i + len - off]) {
                        len++;
                    }
                    if (len > bestLen) {
                        bestLen = len;
                        bestOff = off;
                    }
                }
                if (bestLen >= 3) {
                    ctrl |= 1 << bit;
                    if (bestLen >= 18) {
                        out.write(((bestOff >> 4) & 0xF0) | 0x0F);
                        out.write(bestOff & 0xFF);
                        out.write(bestLen - 18);
                    } else {
                        out.write(((bestOff >> 4) & 0xF0) | (bestLen - 3));
                        out.write(bestOff & 0xFF);
                    }
                    i += bestLen;
                } else {
                    out.write(src[i++]);
                }
            }
            byte[] sofar = out.toByteArray();
            sofar[ctrlPos] = (byte) ctrl;
            out.reset();
            out.writeBytes(sofar);
        }
        return out.toByteArray();
    }

    @Test
    void roundTripsPagesWithRunsRepeatsAndNoise() {
        Random random = new Random(3);
        byte[] page = new byte[8192];
        for (int i = 0; i < 2000; i++) {
            page[i] = (byte) (i % 13);               // repeats: 2-byte tags
        }
        for (int i = 3000; i < 3600; i++) {
            page[i] = (byte) random.nextInt();       // noise: literals
        }
        // 3600..8191 zeros: long overlapping runs with 3-byte tags
        byte[] compressed = compress(page);
        assertThat(compressed.length).isLessThan(page.length / 4);
        byte[] out = new byte[8192];
        assertThat(Pglz.decompress(compressed, 0, compressed.length, out, 8192)).isTrue();
        assertThat(out).isEqualTo(page);
    }

    @Test
    void rejectsCorruptInputWithoutThrowing() {
        byte[] page = new byte[8192];
        Arrays.fill(page, 100, 200, (byte) 7);
        byte[] c = compress(page);
        byte[] out = new byte[8192];
        assertThat(Pglz.decompress(c, 0, c.length - 1, out, 8192)).as("truncated").isFalse();
        byte[] bigger = new byte[8193];
        assertThat(Pglz.decompress(c, 0, c.length, bigger, 8193)).as("expands to less than expected").isFalse();
        byte[] badOffset = {0x01, (byte) 0xF0, (byte) 0xFF}; // tag first: nothing to copy from
        assertThat(Pglz.decompress(badOffset, 0, 3, out, 10)).isFalse();
        byte[] cutTag = {0x02, 'a', 0x00};
        assertThat(Pglz.decompress(cutTag, 0, 3, out, 10)).isFalse();
        Random random = new Random(5);
        for (int i = 0; i < 2000; i++) {
            byte[] junk = new byte[random.nextInt(3000)];
            random.nextBytes(junk);
            Pglz.decompress(junk, 0, junk.length, out, random.nextInt(8193)); // must not throw
        }
    }
}
