//! Evaluates a parsed template, following text/template/exec.go: pipelines
//! pass their value as the last argument of the next command, variables are
//! scoped to the control structure that declares them, maps print and
//! range in key order, and a missing map key gives the zero value
//! (Prometheus runs templates with `missingkey=zero`).

use std::rc::Rc;

use super::funcs::{self, Env, Param};
use super::lex::Pos;
use super::parse::{Arg, ArgKind, Command, Const, Control, Node, Pipe};
use super::value::{Data, Value};

/// A render failure at a node of the template.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecError {
    pub pos: Pos,
    /// The node as Go prints it in "at <...>".
    pub context: String,
    pub msg: String,
}

type Result<T> = std::result::Result<T, ExecError>;

enum Flow {
    Normal,
    Break,
    Continue,
}

pub struct State<'a> {
    env: Env<'a>,
    vars: Vec<(String, Value)>,
    out: String,
}

/// Renders `nodes` on `data`.
pub fn execute(
    nodes: &[Node],
    data: Rc<Data>,
    env_querier: Option<&dyn super::TemplateQuerier>,
) -> Result<String> {
    let root = Value::Data(data.clone());
    let vars = vec![
        ("$".to_string(), root.clone()),
        ("$labels".to_string(), Value::StrMap(data.labels.clone())),
        (
            "$externalLabels".to_string(),
            Value::StrMap(data.external_labels.clone()),
        ),
        (
            "$externalURL".to_string(),
            Value::Str(data.external_url.clone()),
        ),
        ("$value".to_string(), Value::Float(data.value)),
    ];
    let mut s = State {
        env: Env {
            data: &data,
            querier: env_querier,
        },
        vars,
        out: String::new(),
    };
    s.walk(nodes, &root)?;
    Ok(s.out)
}

fn err_at<T>(pos: Pos, context: impl ToString, msg: impl Into<String>) -> Result<T> {
    Err(ExecError {
        pos,
        context: context.to_string(),
        msg: msg.into(),
    })
}

impl State<'_> {
    fn walk(&mut self, nodes: &[Node], dot: &Value) -> Result<Flow> {
        for n in nodes {
            match self.walk_node(n, dot)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_node(&mut self, node: &Node, dot: &Value) -> Result<Flow> {
        match node {
            Node::Text(t) => self.out.push_str(t),
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.out.push_str(&v.print());
                }
            }
            Node::If(c) | Node::With(c) => {
                let is_with = matches!(node, Node::With(_));
                let mark = self.vars.len();
                let v = self.eval_pipeline(dot, &c.pipe)?;
                let flow = if v.truth() {
                    let new_dot = if is_with { v } else { dot.clone() };
                    self.walk(&c.list, &new_dot)?
                } else if let Some(e) = &c.else_list {
                    self.walk(e, dot)?
                } else {
                    Flow::Normal
                };
                self.vars.truncate(mark);
                return Ok(flow);
            }
            Node::Range(c) => {
                let mark = self.vars.len();
                let flow = self.walk_range(c, dot)?;
                self.vars.truncate(mark);
                return Ok(flow);
            }
            Node::Break(_) => return Ok(Flow::Break),
            Node::Continue(_) => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn walk_range(&mut self, c: &Control, dot: &Value) -> Result<Flow> {
        let v = self.eval_pipeline(dot, &c.pipe)?;
        let items: Vec<(Value, Value)> = match &v {
            Value::Samples(s) => s
                .iter()
                .enumerate()
                .map(|(i, x)| (Value::Int(i as i64), Value::Sample(x.clone())))
                .collect(),
            Value::StrMap(m) => m
                .iter()
                .map(|(k, v)| (Value::Str(k.clone()), Value::Str(v.clone())))
                .collect(),
            Value::AnyMap(m) => m
                .iter()
                .map(|(k, v)| (Value::Str(k.clone()), v.clone()))
                .collect(),
            Value::Int(n) => {
                if c.pipe.decl.len() > 1 {
                    return err_at(
                        c.pipe.pos,
                        format!("{{{{range {}}}}}", c.pipe),
                        format!("can't use {n} to iterate over more than one variable"),
                    );
                }
                return self.range_int(c, dot, *n);
            }
            Value::Nil => Vec::new(),
            other => {
                return err_at(
                    c.pipe.pos,
                    format!("{{{{range {}}}}}", c.pipe),
                    format!("range can't iterate over {}", other.sprint()),
                )
            }
        };
        if items.is_empty() {
            return match &c.else_list {
                Some(e) => self.walk(e, dot),
                None => Ok(Flow::Normal),
            };
        }
        for (key, elem) in items {
            let decl = &c.pipe.decl;
            if !decl.is_empty() {
                if c.pipe.is_assign {
                    let (first, second) = if decl.len() > 1 {
                        (key.clone(), Some(elem.clone()))
                    } else {
                        (elem.clone(), None)
                    };
                    self.set_var(&decl[0], first, c.pipe.pos)?;
                    if let Some(e) = second {
                        self.set_var(&decl[1], e, c.pipe.pos)?;
                    }
                } else {
                    let n = self.vars.len();
                    self.vars[n - 1].1 = elem.clone();
                    if decl.len() > 1 {
                        self.vars[n - 2].1 = key.clone();
                    }
                }
            }
            let mark = self.vars.len();
            let flow = self.walk(&c.list, &elem)?;
            self.vars.truncate(mark);
            if let Flow::Break = flow {
                break;
            }
        }
        Ok(Flow::Normal)
    }

    /// `range N` (Go 1.22+), iterated without building the list.
    fn range_int(&mut self, c: &Control, dot: &Value, n: i64) -> Result<Flow> {
        if n <= 0 {
            return match &c.else_list {
                Some(e) => self.walk(e, dot),
                None => Ok(Flow::Normal),
            };
        }
        for i in 0..n {
            let elem = Value::Int(i);
            if !c.pipe.decl.is_empty() {
                if c.pipe.is_assign {
                    self.set_var(&c.pipe.decl[0], elem.clone(), c.pipe.pos)?;
                } else {
                    let top = self.vars.len() - 1;
                    self.vars[top].1 = elem.clone();
                }
            }
            let mark = self.vars.len();
            let flow = self.walk(&c.list, &elem)?;
            self.vars.truncate(mark);
            if let Flow::Break = flow {
                break;
            }
        }
        Ok(Flow::Normal)
    }

    fn set_var(&mut self, name: &str, v: Value, pos: Pos) -> Result<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => err_at(pos, name, format!("undefined variable: {name}")),
        }
    }

    fn var(&self, name: &str, pos: Pos) -> Result<Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => err_at(pos, name, format!("undefined variable: {name}")),
        }
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &Pipe) -> Result<Value> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Value::Nil);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone(), pipe.pos)?;
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, cmd: &Command, final_: &Option<Value>) -> Result<()> {
        if cmd.args.len() > 1 || final_.is_some() {
            let first = &cmd.args[0];
            return err_at(
                first.pos,
                first,
                format!("can't give argument to non-function {first}"),
            );
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &Command, final_: Option<Value>) -> Result<Value> {
        let first = &cmd.args[0];
        let rest = &cmd.args[1..];
        match &first.kind {
            ArgKind::Field(fields) => {
                self.eval_field_chain(dot, dot.clone(), first, fields, rest, final_)
            }
            ArgKind::Chain(inner, fields) => {
                let recv = self.eval_arg(dot, inner, Param::Any)?;
                self.eval_field_chain(dot, recv, first, fields, rest, final_)
            }
            ArgKind::Ident(name) => self.eval_function(dot, name, first.pos, cmd, rest, final_),
            ArgKind::Pipe(p) => {
                self.not_a_function(cmd, &final_)?;
                self.eval_pipeline(dot, p)
            }
            ArgKind::Variable(name, fields) => {
                let v = self.var(name, first.pos)?;
                if fields.is_empty() {
                    self.not_a_function(cmd, &final_)?;
                    return Ok(v);
                }
                self.eval_field_chain(dot, v, first, fields, rest, final_)
            }
            ArgKind::Nil => err_at(first.pos, first, "nil is not a command"),
            _ => {
                self.not_a_function(cmd, &final_)?;
                self.eval_arg(dot, first, Param::Any)
            }
        }
    }

    fn eval_arg(&mut self, dot: &Value, arg: &Arg, param: Param) -> Result<Value> {
        let v = match &arg.kind {
            ArgKind::Dot => dot.clone(),
            ArgKind::Nil => {
                return match param {
                    Param::Any | Param::Sample | Param::Samples => Ok(Value::Nil),
                    p => err_at(
                        arg.pos,
                        arg,
                        format!("cannot assign nil to {}", p.go_name()),
                    ),
                }
            }
            // Literals are converted to the parameter type as Go's evalArg does.
            ArgKind::Bool(_) | ArgKind::Number(..) | ArgKind::Str(..) => {
                return match (param, &arg.kind) {
                    (Param::Any, ArgKind::Bool(b)) => Ok(Value::Bool(*b)),
                    (Param::Any, ArgKind::Number(_, Const::Int(i))) => Ok(Value::Int(*i)),
                    (Param::Any, ArgKind::Number(_, Const::Float(f))) => Ok(Value::Float(*f)),
                    (Param::Any | Param::Str, ArgKind::Str(_, s)) => Ok(Value::Str(s.clone())),
                    (Param::Str, _) => {
                        err_at(arg.pos, arg, format!("expected string; found {arg}"))
                    }
                    (p, _) => err_at(
                        arg.pos,
                        arg,
                        format!("can't handle {arg} for arg of type {}", p.go_name()),
                    ),
                };
            }
            ArgKind::Field(fields) => {
                self.eval_field_chain(dot, dot.clone(), arg, fields, &[], None)?
            }
            ArgKind::Variable(name, fields) => {
                let v = self.var(name, arg.pos)?;
                if fields.is_empty() {
                    v
                } else {
                    self.eval_field_chain(dot, v, arg, fields, &[], None)?
                }
            }
            ArgKind::Ident(name) => {
                let cmd = Command {
                    pos: arg.pos,
                    args: vec![arg.clone()],
                };
                self.eval_function(dot, name, arg.pos, &cmd, &[], None)?
            }
            ArgKind::Pipe(p) => self.eval_pipeline(dot, p)?,
            ArgKind::Chain(inner, fields) => {
                let recv = self.eval_arg(dot, inner, Param::Any)?;
                self.eval_field_chain(dot, recv, arg, fields, &[], None)?
            }
        };
        check_type(v, param, arg.pos, &arg.to_string())
    }

    fn eval_field_chain(
        &mut self,
        dot: &Value,
        mut recv: Value,
        node: &Arg,
        fields: &[String],
        args: &[Arg],
        final_: Option<Value>,
    ) -> Result<Value> {
        let n = fields.len();
        for f in &fields[..n - 1] {
            recv = self.eval_field(dot, f, node, &[], None, recv)?;
        }
        self.eval_field(dot, &fields[n - 1], node, args, final_, recv)
    }

    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        node: &Arg,
        args: &[Arg],
        final_: Option<Value>,
        recv: Value,
    ) -> Result<Value> {
        let has_args = !args.is_empty() || final_.is_some();
        let not_method = |kind: &str| err_at(node.pos, node, format!("{name} {kind}"));
        match &recv {
            Value::Time(t) => {
                let mut vals = Vec::new();
                for a in args {
                    vals.push(self.eval_arg(dot, a, Param::Any)?);
                }
                vals.extend(final_);
                let want = if name == "Format" { 1 } else { 0 };
                if vals.len() != want {
                    return err_at(
                        node.pos,
                        node,
                        format!(
                            "wrong number of args for {name}: want {want} got {}",
                            vals.len()
                        ),
                    );
                }
                match name {
                    "Unix" => Ok(Value::Int(t.secs)),
                    "UnixMilli" => Ok(Value::Int(t.secs * 1000 + (t.nanos / 1_000_000) as i64)),
                    "UnixNano" => Ok(Value::Int(
                        t.secs.wrapping_mul(1_000_000_000) + t.nanos as i64,
                    )),
                    "UTC" => Ok(recv.clone()),
                    "String" => Ok(Value::Str(t.go_string())),
                    "Format" => match &vals[0] {
                        Value::Str(layout) => Ok(Value::Str(t.go_format(layout))),
                        other => err_at(
                            node.pos,
                            node,
                            format!(
                                "wrong type for value; expected string; got {}",
                                other.type_name()
                            ),
                        ),
                    },
                    _ => err_at(
                        node.pos,
                        node,
                        format!(
                            "can't evaluate field {name} in type *time.Time (method not supported)"
                        ),
                    ),
                }
            }
            Value::Data(d) => {
                if has_args {
                    return not_method("has arguments but cannot be invoked as function");
                }
                match name {
                    "Labels" => Ok(Value::StrMap(d.labels.clone())),
                    "ExternalLabels" => Ok(Value::StrMap(d.external_labels.clone())),
                    "ExternalURL" => Ok(Value::Str(d.external_url.clone())),
                    "Value" => Ok(Value::Float(d.value)),
                    _ => err_at(
                        node.pos,
                        node,
                        format!("can't evaluate field {name} in type {}", recv.type_name()),
                    ),
                }
            }
            Value::Sample(s) => {
                if has_args {
                    return not_method("has arguments but cannot be invoked as function");
                }
                match name {
                    "Labels" => Ok(Value::StrMap(Rc::new(s.labels.clone()))),
                    "Value" => Ok(Value::Float(s.value)),
                    _ => err_at(
                        node.pos,
                        node,
                        format!("can't evaluate field {name} in type template.sample"),
                    ),
                }
            }
            Value::StrMap(m) => {
                if has_args {
                    return not_method("is not a method but has arguments");
                }
                Ok(Value::Str(m.get(name).cloned().unwrap_or_default()))
            }
            Value::AnyMap(m) => {
                if has_args {
                    return not_method("is not a method but has arguments");
                }
                Ok(m.get(name).cloned().unwrap_or(Value::Nil))
            }
            Value::Nil => Ok(Value::Nil),
            other => err_at(
                node.pos,
                node,
                format!("can't evaluate field {name} in type {}", other.type_name()),
            ),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        name: &str,
        pos: Pos,
        cmd: &Command,
        args: &[Arg],
        final_: Option<Value>,
    ) -> Result<Value> {
        let Some(sig) = funcs::signature(name) else {
            return err_at(pos, name, format!("{name:?} is not a defined function"));
        };
        let num_in = args.len() + usize::from(final_.is_some());
        let fixed = sig.fixed.len();
        if sig.variadic.is_some() {
            if num_in < fixed {
                return err_at(
                    pos,
                    name,
                    format!(
                        "wrong number of args for {name}: want at least {fixed} got {}",
                        args.len()
                    ),
                );
            }
        } else if num_in != fixed {
            return err_at(
                pos,
                name,
                format!("wrong number of args for {name}: want {fixed} got {num_in}"),
            );
        }
        let param_at = |i: usize| {
            if i < fixed {
                sig.fixed[i]
            } else {
                sig.variadic.unwrap_or(Param::Any)
            }
        };
        if name == "and" || name == "or" {
            let want = name == "or";
            let mut v = Value::Nil;
            for a in args {
                v = self.eval_arg(dot, a, Param::Any)?;
                if v.truth() == want {
                    return Ok(v);
                }
            }
            return Ok(final_.unwrap_or(v));
        }
        let mut vals = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            vals.push(self.eval_arg(dot, a, param_at(i))?);
        }
        if let Some(f) = final_ {
            let p = param_at(args.len());
            vals.push(check_type(f, p, cmd.pos, &cmd.to_string())?);
        }
        let env = Env {
            data: self.env.data,
            querier: self.env.querier,
        };
        funcs::call(name, &vals, &env)
            .or_else(|e| err_at(cmd.pos, cmd, format!("error calling {name}: {e}")))
    }
}

/// Go's validateType: is `v` assignable to the parameter?
fn check_type(v: Value, param: Param, pos: Pos, context: &str) -> Result<Value> {
    let ok = match (param, &v) {
        (Param::Any, _) => true,
        (Param::Str, Value::Str(_)) => true,
        (Param::Sample, Value::Sample(_)) => true,
        (Param::Samples, Value::Samples(_)) => true,
        // nil converts to a nil pointer or slice.
        (Param::Sample | Param::Samples, Value::Nil) => true,
        (Param::Str, Value::Nil) => {
            return err_at(
                pos,
                context,
                format!("invalid value; expected {}", param.go_name()),
            );
        }
        _ => false,
    };
    if ok {
        Ok(v)
    } else {
        err_at(
            pos,
            context,
            format!(
                "wrong type for value; expected {}; got {}",
                param.go_name(),
                v.type_name()
            ),
        )
    }
}
