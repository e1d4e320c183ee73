/// The Redis function library of the engine: what must happen atomically in Redis, in one place.
///
/// Loaded with `FUNCTION LOAD REPLACE` whenever the command link comes up, and again when a call finds
/// it missing (`ERR Function not found`: functions vanish when Redis restarts without persistence). Every
/// key a call touches carries its channel's hash tag, so a call runs on the one node that owns the
/// channel's slot in a Redis Cluster.
enum RedisFunctions {
    /// The library's name; a new version of the scripts gets new names (library and functions: function
    /// names are global in Redis), so nodes of two releases running side by side each call their own.
    static let library = "switchboard_v1"
    static let publish = "sb1_publish"
    static let delete = "sb1_delete"

    /// Keys per channel (`{c}` is the hash tag):
    /// - `P:{c}:m` — hash: `e` epoch, `s` last offset, `r` the primary's replication id at the last publish,
    ///   `pe`/`ps` the epoch before the last fence and the offset it ended at.
    /// - `P:{c}:s` — stream: one entry per kept message, id `<offset>-0`, field `d` the message blob.
    /// Pub/sub channel `P:{c}`: `m<epoch>:<offset>:<blob>` per message, `d<epoch>` when deleted.
    static let source = #"""
        #!lua name=switchboard_v1

        -- sb1_publish(meta, stream; blob, history size, history ttl ms, replication id, fresh epoch, pubsub
        -- channel, meta ttl ms) -> {epoch, offset}
        --
        -- Stores the message and publishes it, atomically. A missing meta (a new channel, or Redis lost its
        -- data) starts a fresh epoch at offset 1. A replication id other than the one of the last publish
        -- means the primary changed: the newest writes may be lost (an asynchronous replica was promoted),
        -- so the channel is fenced — a fresh epoch that continues the offsets (never reusing one) and keeps
        -- the stream, with the old epoch and its last offset kept for clients resuming from it.
        local function sb_publish(keys, args)
          local meta, stream = keys[1], keys[2]
          local blob, size, ttl = args[1], tonumber(args[2]), tonumber(args[3])
          local replid, fresh, channel, metattl = args[4], args[5], args[6], tonumber(args[7])
          local state = redis.call('HMGET', meta, 'e', 's', 'r')
          local epoch, offset = state[1], tonumber(state[2])
          if not epoch then
            redis.call('DEL', stream)
            epoch, offset = fresh, 0
            redis.call('HSET', meta, 'e', epoch, 'r', replid)
          elseif state[3] ~= replid then
            redis.call('HSET', meta, 'pe', epoch, 'ps', offset, 'e', fresh, 'r', replid)
            epoch = fresh
          end
          offset = offset + 1
          redis.call('HSET', meta, 's', offset)
          if size > 0 then
            redis.call('XADD', stream, 'MAXLEN', size, offset .. '-0', 'd', blob)
            redis.call('PEXPIRE', stream, ttl)
          end
          redis.call('PEXPIRE', meta, metattl)
          redis.call('SPUBLISH', channel, 'm' .. epoch .. ':' .. offset .. ':' .. blob)
          return {epoch, offset}
        end

        -- sb1_delete(meta, stream; pubsub channel) -> 1 when the channel existed, else 0
        local function sb_delete(keys, args)
          local epoch = redis.call('HGET', keys[1], 'e')
          redis.call('DEL', keys[1], keys[2])
          if not epoch then return 0 end
          redis.call('SPUBLISH', args[1], 'd' .. epoch)
          return 1
        end

        redis.register_function('sb1_publish', sb_publish)
        redis.register_function('sb1_delete', sb_delete)
        """#
}
