//! The Switchboard client: a cloneable handle driving one connection task.
