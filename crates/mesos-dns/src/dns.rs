//! The DNS listeners (UDP and TCP) and how a query is answered. Messages are parsed and
//! written by hickory-proto; the answer is a function of the records, so it is tested
//! without sockets.
//!
//! Names in the domain are answered authoritatively from the records (NXDOMAIN with the
//! zone's SOA for a name that has none); other names are forwarded, as they are, to the
//! first upstream resolver that answers, or refused when there is none.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, NS, SOA, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::metrics::Metrics;
use crate::naming::Records;
use crate::refresh::Shared;

/// What to do with one query.
#[derive(Debug)]
pub enum Answer {
    /// Send this response.
    Reply(Message),
    /// Not ours: ask the upstream resolvers.
    Forward,
}

/// Answers `query` from `records` with `ttl`.
pub fn answer(records: &Records, ttl: u32, query: &Message) -> Answer {
    let mut resp = Message::new();
    resp.set_id(query.id())
        .set_message_type(MessageType::Response)
        .set_op_code(query.op_code())
        .set_recursion_desired(query.recursion_desired())
        .set_recursion_available(true);
    resp.add_queries(query.queries().iter().cloned());
    let q = match (query.op_code(), query.queries()) {
        (OpCode::Query, [q]) => q,
        _ => {
            resp.set_response_code(ResponseCode::NotImp);
            return Answer::Reply(resp);
        }
    };
    let name = q.name().to_ascii();
    if !records.in_domain(&name) {
        return Answer::Forward;
    }
    resp.set_authoritative(true);
    let qname = q.name().clone();
    let qtype = q.query_type();
    let mut answers = Vec::new();
    let mut additionals = Vec::new();
    if matches!(qtype, RecordType::A | RecordType::ANY) {
        for ip in records.a_of(&name).into_iter().flatten() {
            answers.push(Record::from_rdata(qname.clone(), ttl, RData::A(A(*ip))));
        }
    }
    if matches!(qtype, RecordType::SRV | RecordType::ANY) {
        for s in records.srv_of(&name).into_iter().flatten() {
            let Ok(target) = Name::from_ascii(&s.target) else {
                continue;
            };
            answers.push(Record::from_rdata(
                qname.clone(),
                ttl,
                RData::SRV(SRV::new(0, 0, s.port, target.clone())),
            ));
            for ip in records.a_of(&s.target).into_iter().flatten() {
                additionals.push(Record::from_rdata(target.clone(), ttl, RData::A(A(*ip))));
            }
        }
    }
    let apex = fqdn_name(&records.domain);
    let at_apex = crate::naming::fqdn(&name) == records.domain;
    if at_apex && matches!(qtype, RecordType::SOA | RecordType::ANY) {
        answers.push(soa(&apex, ttl));
    }
    if at_apex && matches!(qtype, RecordType::NS | RecordType::ANY) {
        if let Ok(ns) = Name::from_ascii(format!("ns1.{}", records.domain)) {
            answers.push(Record::from_rdata(qname.clone(), ttl, RData::NS(NS(ns))));
        }
    }
    if answers.is_empty() {
        // NXDOMAIN for a name with no record at all; an empty NOERROR (no data of this
        // type) for a name that has others. Either way the SOA bounds negative caching.
        if !records.has_name(&name) {
            resp.set_response_code(ResponseCode::NXDomain);
        }
        resp.add_name_server(soa(&apex, ttl));
    }
    resp.add_answers(answers);
    resp.add_additionals(additionals);
    Answer::Reply(resp)
}

fn fqdn_name(s: &str) -> Name {
    Name::from_ascii(s).unwrap_or_else(|_| Name::root())
}

fn soa(apex: &Name, ttl: u32) -> Record {
    let ns = Name::from_ascii("ns1")
        .ok()
        .and_then(|n| n.append_domain(apex).ok());
    let mbox = Name::from_ascii("root")
        .ok()
        .and_then(|n| n.append_domain(apex).ok());
    let serial = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        & 0xffff_ffff) as u32;
    Record::from_rdata(
        apex.clone(),
        ttl,
        RData::SOA(SOA::new(
            ns.unwrap_or_else(Name::root),
            mbox.unwrap_or_else(Name::root),
            serial,
            60,
            600,
            86400,
            ttl,
        )),
    )
}

/// The shared parts every query needs.
#[derive(Clone)]
pub struct Server {
    /// The records of the last good refresh.
    pub records: Shared,
    /// TTL of answers.
    pub ttl: u32,
    /// Upstream resolvers.
    pub resolvers: Arc<Vec<SocketAddr>>,
    /// How long to wait for one.
    pub timeout: Duration,
    /// Metrics.
    pub metrics: Arc<Metrics>,
}

impl Server {
    /// The response bytes to a query's bytes (`None`: nothing to send, e.g. garbage).
    async fn respond(&self, bytes: &[u8], transport: &'static str) -> Option<Vec<u8>> {
        let Ok(query) = Message::from_vec(bytes) else {
            self.metrics.query(transport, "malformed");
            return None;
        };
        if query.message_type() != MessageType::Query {
            return None;
        }
        let records = match self.records.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        };
        match answer(&records, self.ttl, &query) {
            Answer::Reply(m) => {
                let result = match m.response_code() {
                    ResponseCode::NoError => "answered",
                    ResponseCode::NXDomain => "nxdomain",
                    _ => "error",
                };
                self.metrics.query(transport, result);
                m.to_vec().ok()
            }
            Answer::Forward => match self.forward(bytes).await {
                Some(r) => {
                    self.metrics.query(transport, "forwarded");
                    Some(r)
                }
                None => {
                    let code = if self.resolvers.is_empty() {
                        self.metrics.query(transport, "refused");
                        ResponseCode::Refused
                    } else {
                        self.metrics.query(transport, "forward_failed");
                        ResponseCode::ServFail
                    };
                    let mut m = Message::error_msg(query.id(), query.op_code(), code);
                    m.add_queries(query.queries().iter().cloned());
                    m.to_vec().ok()
                }
            },
        }
    }

    /// Asks each upstream in turn over UDP; the first answer wins.
    async fn forward(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        for upstream in self.resolvers.iter() {
            let bind: SocketAddr = if upstream.is_ipv4() {
                "0.0.0.0:0".parse().ok()?
            } else {
                "[::]:0".parse().ok()?
            };
            let Ok(sock) = UdpSocket::bind(bind).await else {
                continue;
            };
            let attempt = async {
                sock.send_to(bytes, upstream).await.ok()?;
                let mut buf = vec![0u8; 4096];
                let (n, _) = sock.recv_from(&mut buf).await.ok()?;
                buf.truncate(n);
                Some(buf)
            };
            if let Ok(Some(r)) = tokio::time::timeout(self.timeout, attempt).await {
                return Some(r);
            }
        }
        None
    }

    /// Serves UDP queries on `sock` forever.
    pub async fn serve_udp(self, sock: UdpSocket) {
        let sock = Arc::new(sock);
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                continue;
            };
            let bytes = buf[..n].to_vec();
            let (server, sock) = (self.clone(), Arc::clone(&sock));
            tokio::spawn(async move {
                if let Some(mut r) = server.respond(&bytes, "udp").await {
                    if r.len() > 512 {
                        // Too big for plain UDP: the truncated answer sends the client to TCP.
                        if let Some(t) = Message::from_vec(&r)
                            .ok()
                            .and_then(|m| m.truncate().to_vec().ok())
                        {
                            r = t;
                        }
                    }
                    let _ = sock.send_to(&r, peer).await;
                }
            });
        }
    }

    /// Serves TCP queries (length-prefixed, several per connection) forever.
    pub async fn serve_tcp(self, listener: TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let server = self.clone();
            tokio::spawn(async move {
                // An idle or slow client is dropped after 30 s.
                let _ =
                    tokio::time::timeout(Duration::from_secs(30), server.tcp_conn(stream)).await;
            });
        }
    }

    async fn tcp_conn(&self, mut stream: TcpStream) -> std::io::Result<()> {
        loop {
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).await?;
            let mut bytes = vec![0u8; usize::from(u16::from_be_bytes(len))];
            stream.read_exact(&mut bytes).await?;
            let Some(r) = self.respond(&bytes, "tcp").await else {
                return Ok(());
            };
            let Ok(n) = u16::try_from(r.len()) else {
                return Ok(());
            };
            stream.write_all(&n.to_be_bytes()).await?;
            stream.write_all(&r).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::one_leader as records;
    use hickory_proto::op::Query;

    fn ask(name: &str, t: RecordType) -> Message {
        let mut m = Message::new();
        m.set_id(42).set_recursion_desired(true);
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
        // Through the wire format, as a client sends it.
        Message::from_vec(&m.to_vec().unwrap()).unwrap()
    }

    fn reply(a: Answer) -> Message {
        match a {
            Answer::Reply(m) => Message::from_vec(&m.to_vec().unwrap()).unwrap(),
            Answer::Forward => panic!("forwarded"),
        }
    }

    #[test]
    fn leader_is_answered_authoritatively_with_the_ttl() {
        let r = reply(answer(&records(), 7, &ask("Leader.Mesos.", RecordType::A)));
        assert_eq!(r.id(), 42);
        assert!(r.authoritative());
        assert_eq!(r.response_code(), ResponseCode::NoError);
        assert_eq!(r.answers().len(), 1);
        assert_eq!(r.answers()[0].ttl(), 7);
        assert_eq!(
            r.answers()[0].data(),
            &RData::A(A("10.0.0.11".parse().unwrap()))
        );
    }

    #[test]
    fn srv_answers_carry_the_targets_address() {
        let r = reply(answer(
            &records(),
            60,
            &ask("_leader._tcp.mesos.", RecordType::SRV),
        ));
        let RData::SRV(srv) = r.answers()[0].data() else {
            panic!("{r:?}")
        };
        assert_eq!(srv.port(), 5050);
        assert_eq!(srv.target().to_ascii(), "leader.mesos.");
        assert_eq!(r.additionals().len(), 1);
    }

    #[test]
    fn unknown_names_in_the_domain_are_nxdomain_and_others_forwarded() {
        let r = reply(answer(&records(), 60, &ask("nope.mesos.", RecordType::A)));
        assert_eq!(r.response_code(), ResponseCode::NXDomain);
        assert_eq!(r.name_servers().len(), 1, "the SOA bounds negative caching");
        // A name that exists but has no record of this type: no data, not NXDOMAIN.
        let r = reply(answer(
            &records(),
            60,
            &ask("leader.mesos.", RecordType::AAAA),
        ));
        assert_eq!(r.response_code(), ResponseCode::NoError);
        assert!(r.answers().is_empty());
        assert!(matches!(
            answer(&records(), 60, &ask("example.com.", RecordType::A)),
            Answer::Forward
        ));
        let r = reply(answer(&records(), 60, &ask("mesos.", RecordType::SOA)));
        assert_eq!(r.answers().len(), 1);
    }
}
