//! What a copy of a ZooKeeper data directory (`version-2`) says about itself: its last
//! zxid and epoch, read from the files (ZooKeeper 3.8's `FileTxnLog` and `FileSnap` formats)
//! so that a backup records what it holds, not what a server said before it was stopped.
//!
//! A transaction log starts with a 16-byte header (`ZKLG`, version, dbid), then records:
//! an 8-byte checksum, a 4-byte length, the transaction (its header: client id, cxid,
//! **zxid**, time, type), and an end-of-record byte `B`. Logs are preallocated with zeros: a
//! length of 0 ends them. File names carry zxids in hex: `log.<first zxid>`,
//! `snapshot.<last zxid>`.

/// `ZKLG`, the transaction log's magic number.
const LOG_MAGIC: &[u8; 4] = b"ZKLG";
const LOG_HEADER: usize = 16;
/// Client id (8) and cxid (4) come before the zxid in a transaction header.
const ZXID_OFFSET: usize = 12;

/// The zxid of the last whole transaction in a log file's bytes; `None` when it holds none
/// (or is not a transaction log).
pub fn last_zxid_in_log(bytes: &[u8]) -> Option<u64> {
    if bytes.len() < LOG_HEADER || &bytes[..4] != LOG_MAGIC {
        return None;
    }
    let mut at = LOG_HEADER;
    let mut last = None;
    loop {
        let len_at = at + 8;
        let len = i32::from_be_bytes(bytes.get(len_at..len_at + 4)?.try_into().ok()?);
        if len <= 0 {
            return last;
        }
        let txn = len_at + 4;
        let end = txn + len as usize;
        // A record cut short (the copy of a log being written) ends the log there.
        if end + 1 > bytes.len() || bytes[end] != b'B' {
            return last;
        }
        let z = bytes.get(txn + ZXID_OFFSET..txn + ZXID_OFFSET + 8)?;
        last = Some(u64::from_be_bytes(z.try_into().ok()?));
        at = end + 1;
    }
}

/// The zxid in a `log.<hex>` or `snapshot.<hex>` file name.
pub fn zxid_of_name(name: &str) -> Option<u64> {
    let base = name.rsplit('/').next()?;
    let hex = base
        .strip_prefix("log.")
        .or_else(|| base.strip_prefix("snapshot."))?;
    u64::from_str_radix(hex, 16).ok()
}

/// A zxid as ZooKeeper prints it: `0x` and hex.
pub fn zxid_text(zxid: u64) -> String {
    format!("{zxid:#x}")
}

/// The epoch of a zxid (its high 32 bits).
pub fn epoch_of(zxid: u64) -> u64 {
    zxid >> 32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log as ZooKeeper writes it: header, `zxids` as records, zeros after.
    fn log(zxids: &[u64], torn_last: bool) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(LOG_MAGIC);
        b.extend_from_slice(&2i32.to_be_bytes());
        b.extend_from_slice(&7i64.to_be_bytes());
        for (i, z) in zxids.iter().enumerate() {
            let mut txn = Vec::new();
            txn.extend_from_slice(&0x1234i64.to_be_bytes());
            txn.extend_from_slice(&(i as i32).to_be_bytes());
            txn.extend_from_slice(&z.to_be_bytes());
            txn.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
            txn.extend_from_slice(&1i32.to_be_bytes());
            txn.extend_from_slice(b"/apps/x payload");
            b.extend_from_slice(&0i64.to_be_bytes());
            b.extend_from_slice(&(txn.len() as i32).to_be_bytes());
            b.extend_from_slice(&txn);
            if !(torn_last && i + 1 == zxids.len()) {
                b.push(b'B');
            }
        }
        b.extend_from_slice(&[0u8; 64]);
        b
    }

    #[test]
    fn the_last_whole_transaction_gives_the_zxid() {
        let z = [0x1_0000_0001, 0x1_0000_0002, 0x2_0000_0001];
        assert_eq!(last_zxid_in_log(&log(&z, false)), Some(0x2_0000_0001));
        assert_eq!(
            last_zxid_in_log(&log(&z, true)),
            Some(0x1_0000_0002),
            "a torn last record is not counted"
        );
        assert_eq!(last_zxid_in_log(&log(&[], false)), None);
        assert_eq!(last_zxid_in_log(b"not a log at all"), None);
    }

    #[test]
    fn names_and_epochs() {
        assert_eq!(zxid_of_name("version-2/log.100000001"), Some(0x1_0000_0001));
        assert_eq!(zxid_of_name("snapshot.0"), Some(0));
        assert_eq!(zxid_of_name("currentEpoch"), None);
        assert_eq!(epoch_of(0x2_0000_0001), 2);
        assert_eq!(zxid_text(0x2_0000_0001), "0x200000001");
    }
}
