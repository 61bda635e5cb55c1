package dev.strata.proxy.cancel;

import dev.strata.pgcore.protocol.BackendMessage.BackendKeyData;
import dev.strata.proxy.wake.ComputeAddress;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class CancelKeysTest {

    @Test
    void proxyKeysAreFreshAndMapToTheComputeKeyUntilRemoved() {
        CancelKeys keys = new CancelKeys();
        ComputeAddress compute = new ComputeAddress("127.0.0.1", 5432);
        Set<BackendKeyData> issued = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            BackendKeyData k = keys.register(new CancelKeys.Target(compute, new BackendKeyData(i, 42)));
            assertThat(k.processId()).isNotNegative();
            issued.add(k);
        }
        assertThat(issued).hasSize(1000);
        BackendKeyData one = issued.iterator().next();
        assertThat(keys.find(one.processId(), one.secretKey())).get()
                .satisfies(t -> assertThat(t.compute()).isEqualTo(compute));
        assertThat(keys.find(one.processId(), one.secretKey() + 1)).isEmpty();
        keys.remove(one);
        assertThat(keys.find(one.processId(), one.secretKey())).isEmpty();
        assertThat(keys.size()).isEqualTo(999);
    }
}
