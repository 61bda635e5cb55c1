package dev.strata.pageserver.pageservice;

import io.netty.handler.codec.DecoderException;

/** A frame that breaks the protocol (length, type, layout): the connection is closed after an error frame. */
public final class ProtocolException extends DecoderException {

    public ProtocolException(String message) {
        super(message);
    }
}
