package dev.strata.proxy.relay;

import dev.strata.pgcore.protocol.BackendMessage;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;

/** Closing helpers shared by the proxy's handlers. */
public final class Channels {

    private Channels() {
    }

    /** Closes after everything written so far has gone out (Netty's HexDumpProxy {@code closeOnFlush}). */
    public static void closeOnFlush(Channel ch) {
        if (ch != null && ch.isActive()) {
            ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** Sends a FATAL error through the channel's BackendMessage encoder, then closes. */
    public static void closeWithError(Channel ch, BackendMessage.ErrorResponse error) {
        if (ch.isActive()) {
            ch.writeAndFlush(error).addListener(ChannelFutureListener.CLOSE);
        } else {
            ch.close();
        }
    }
}
