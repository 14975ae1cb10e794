//! The catalogue: which programs may be built into commands, grouped by
//! project.

use std::collections::HashMap;

use crate::command::Command;
use crate::{Error, ErrorKind, Result};

/// A project: a name and the programs it owns.
///
/// # Example
///
/// ```
/// let project = cuprum::Project::new("core-ops", ["echo", "ls"]);
/// assert!(project.owns("ls"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    name: String,
    programs: Vec<String>,
}

impl Project {
    /// A project named `name` owning `programs`.
    #[must_use]
    pub fn new<I, S>(name: impl Into<String>, programs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            name: name.into(),
            programs: programs.into_iter().map(Into::into).collect(),
        }
    }

    /// The project's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The programs it owns.
    #[must_use]
    pub fn programs(&self) -> &[String] {
        &self.programs
    }

    /// Whether it owns `program`.
    #[must_use]
    pub fn owns(&self, program: &str) -> bool {
        self.programs.iter().any(|p| p == program)
    }
}

/// An allowlist of programs grouped by project. Only catalogued programs can
/// be turned into [`Command`]s through it.
#[derive(Debug, Clone)]
pub struct Catalogue {
    projects: Vec<Project>,
    owners: HashMap<String, usize>,
}

impl Catalogue {
    /// Builds a catalogue.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] when two projects share a name or two
    /// projects claim the same program (the message names both).
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::{Catalogue, Project};
    /// let dup = Catalogue::new([Project::new("a", ["ls"]), Project::new("b", ["ls"])]);
    /// assert!(dup.unwrap_err().message().contains("already owned by project `a`"));
    /// ```
    pub fn new(projects: impl IntoIterator<Item = Project>) -> Result<Self> {
        let projects: Vec<Project> = projects.into_iter().collect();
        let mut owners = HashMap::new();
        for (index, project) in projects.iter().enumerate() {
            if projects[..index].iter().any(|p| p.name == project.name) {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("project `{}` is registered more than once", project.name),
                ));
            }
        }
        for (index, project) in projects.iter().enumerate() {
            for program in &project.programs {
                if let Some(&owner) = owners.get(program) {
                    let owner: &Project = &projects[owner];
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        format!(
                            "program `{program}` is already owned by project `{}`",
                            owner.name
                        ),
                    ));
                }
                owners.insert(program.clone(), index);
            }
        }
        Ok(Self { projects, owners })
    }

    /// The projects, in registration order.
    #[must_use]
    pub fn projects(&self) -> &[Project] {
        &self.projects
    }

    /// The project owning `program`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownProgram`] when `program` is not catalogued.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::{Catalogue, ErrorKind, Project};
    /// let catalogue = Catalogue::new([Project::new("core-ops", ["ls"])])?;
    /// assert_eq!(catalogue.lookup("ls")?.name(), "core-ops");
    /// assert_eq!(catalogue.lookup("rm").unwrap_err().kind(), ErrorKind::UnknownProgram);
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    pub fn lookup(&self, program: &str) -> Result<&Project> {
        self.owners
            .get(program)
            .map(|&index| &self.projects[index])
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::UnknownProgram,
                    format!("program `{program}` is not in the catalogue allowlist"),
                )
            })
    }

    /// A [`Command`] for a catalogued `program`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownProgram`] when `program` is not catalogued.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::{Catalogue, Project};
    /// let catalogue = Catalogue::new([Project::new("core-ops", ["echo"])])?;
    /// let cmd = catalogue.command("echo")?.arg("hi");
    /// assert_eq!(cmd.argv(), ["echo", "hi"]);
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    pub fn command(&self, program: &str) -> Result<Command> {
        self.lookup(program)?;
        Ok(Command::new(program))
    }
}
